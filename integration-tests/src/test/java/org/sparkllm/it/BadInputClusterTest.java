package org.sparkllm.it;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Bad rows next to good ones: null prompts, and prompts longer than the model's context. */
@Timeout(600)
class BadInputClusterTest {
  private static final long GOOD = 0;
  private static final long NULL_PROMPT = 1;
  private static final long TOO_LONG = 2;

  /**
   * The tiny model's context is 2,048 positions, which must hold the prompt and one generated token;
   * the tokenizer splits words at spaces, so every " spark" is at least one token.
   */
  private static final String TOO_LONG_PROMPT = " spark".repeat(2048);

  private static SparkSession spark;

  @BeforeAll
  static void registerPrompts() {
    spark = TestCluster.session();
    List<Row> rows =
        List.of(
            RowFactory.create(GOOD, "The quick brown fox"),
            RowFactory.create(NULL_PROMPT, null),
            RowFactory.create(TOO_LONG, TOO_LONG_PROMPT));
    PromptTables.of(spark, rows, 2).createOrReplaceTempView("bad_prompts");
  }

  @Test
  void nullPromptGivesNullCompletion() {
    Map<Long, Row> byId =
        collectById(
            "SELECT id, llm_generate(prompt, map('max_tokens', '8')) FROM bad_prompts WHERE id IN ("
                + GOOD + ", " + NULL_PROMPT + ")");
    assertNotNull(byId.get(GOOD).getString(1));
    assertNull(byId.get(NULL_PROMPT).getString(1));
  }

  @Test
  void overLongPromptGivesAnErrorInItsRowWhenFailOnErrorIsFalse() {
    Map<Long, Row> byId =
        collectById(
            "SELECT id, c.text, c.error FROM (SELECT id, llm_generate(prompt, map('max_tokens', '8', "
                + "'fail_on_error', 'false', 'return', 'struct')) AS c FROM bad_prompts)");
    assertNotNull(byId.get(GOOD).getString(1), "the good row still completes");
    assertNull(byId.get(GOOD).getString(2));
    assertNull(byId.get(TOO_LONG).getString(1));
    assertNotNull(byId.get(TOO_LONG).getString(2), "the over-long row carries its error");
  }

  @Test
  void overLongPromptFailsTheQueryByDefault() {
    assertThrows(
        SparkException.class,
        () -> spark.sql("SELECT llm_generate(prompt, map('max_tokens', '8')) FROM bad_prompts").collectAsList());
  }

  private static Map<Long, Row> collectById(String sql) {
    Map<Long, Row> byId = new TreeMap<>();
    for (Row r : spark.sql(sql).collectAsList()) {
      assertNull(byId.put(r.getLong(0), r), "row " + r.getLong(0) + " came out twice");
    }
    return byId;
  }
}
