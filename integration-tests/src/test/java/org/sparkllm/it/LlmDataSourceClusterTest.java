package org.sparkllm.it;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code spark.read.format("llm")} over JSON-lines prompt files. Schema: the line's fields as strings
 * (id, prompt) followed by the completion and a per-row error.
 */
@Timeout(600)
class LlmDataSourceClusterTest {
  private static final int FILES = 4;
  private static final int LINES_PER_FILE = 250;
  private static final String COMPLETION = "completion";
  private static final String ERROR = "error";

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path data;

  @Test
  void everyLineOfEveryFileComesOutOnce() throws IOException {
    for (int f = 0; f < FILES; f++) {
      List<String> lines = new ArrayList<>();
      for (long id = (long) f * LINES_PER_FILE; id < (long) (f + 1) * LINES_PER_FILE; id++) {
        lines.add(jsonLine(id));
      }
      Files.write(data.resolve("prompts-" + f + ".jsonl"), lines);
    }

    Dataset<Row> completed =
        llmReader()
            .load(data.toString())
            .select(col("id").cast("long"), col("prompt"), col(COMPLETION).as("completion"));
    CompletionChecks.everyRowOnce(completed, FILES * LINES_PER_FILE);
  }

  @Test
  void malformedLineGivesAnErrorRowInsteadOfALostRow() throws IOException {
    Files.write(
        data.resolve("prompts.jsonl"),
        List.of(jsonLine(0), jsonLine(1), "{\"id\": 2, \"prompt\": \"unterminated", jsonLine(3)));

    List<Row> rows =
        llmReader()
            .option("fail_on_error", "false")
            .load(data.toString())
            .select(col("id").cast("long"), col(COMPLETION), col(ERROR))
            .collectAsList();

    assertEquals(4, rows.size(), "one row per line: " + rows);
    Map<Long, Row> good = new TreeMap<>();
    int errors = 0;
    for (Row r : rows) {
      if (r.isNullAt(2)) {
        assertNotNull(r.getString(1), "a good line has its completion: " + r);
        assertNull(good.put(r.getLong(0), r), "line " + r.getLong(0) + " came out twice");
      } else {
        errors++;
      }
    }
    assertEquals(1, errors, "the malformed line's row carries an error: " + rows);
    assertEquals(List.of(0L, 1L, 3L), new ArrayList<>(good.keySet()));
  }

  private static DataFrameReader llmReader() {
    return TestCluster.session()
        .read()
        .format("llm")
        .option("model", TinyModel.dir().toString())
        .option("max_tokens", "8");
  }

  private static String jsonLine(long id) throws IOException {
    return "{\"id\": " + id + ", \"prompt\": " + JSON.writeValueAsString(PromptTables.prompt(id)) + "}";
  }
}
