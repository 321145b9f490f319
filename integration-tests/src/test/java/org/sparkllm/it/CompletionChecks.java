package org.sparkllm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/** Checks on query results of (id, prompt, completion) over a {@link PromptTables#numbered} table. */
final class CompletionChecks {
  private CompletionChecks() {}

  /**
   * Collects the result and checks that ids 0 .. rows-1 each come out exactly once, still next to
   * their own prompt, with a completion.
   *
   * @return id to completion
   */
  static Map<Long, String> everyRowOnce(Dataset<Row> idPromptCompletion, int rows) {
    Map<Long, String> byId = new TreeMap<>();
    for (Row r : idPromptCompletion.select("id", "prompt", "completion").collectAsList()) {
      long id = r.getLong(0);
      assertEquals(PromptTables.prompt(id), r.getString(1), "row " + id + " kept its prompt");
      assertNotNull(r.getString(2), "row " + id + " has a completion");
      assertNull(byId.put(id, r.getString(2)), "row " + id + " came out twice");
    }
    assertEquals(
        LongStream.range(0, rows).boxed().collect(Collectors.toSet()),
        byId.keySet(),
        "every input row came out");
    return byId;
  }
}
