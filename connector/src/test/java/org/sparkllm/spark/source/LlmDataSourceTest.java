package org.sparkllm.spark.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.ColumnarToRowExec;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.datasources.v2.BatchScanExec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkllm.engine.Engine;
import org.sparkllm.engine.EngineOptions;
import org.sparkllm.engine.GenerationRequest;
import org.sparkllm.engine.SamplingParams;
import org.sparkllm.spark.TestSpark;
import org.sparkllm.spark.util.ScalaSeqs;

/** spark.read.format("llm") end to end on local[2] with the tiny model, checked against the engine. */
class LlmDataSourceTest {
  static Path model;
  static SparkSession spark;
  static Engine engine;
  @TempDir static Path dir;

  @BeforeAll
  static void start() {
    model = TestSpark.tinyModel();
    spark = TestSpark.session(model);
    engine = Engine.open(model, EngineOptions.defaults().withThreads(1));
  }

  @AfterAll
  static void stop() {
    spark.stop();
    engine.close();
  }

  /** Greedy, as temperature=0 asks of the data source and llm_generate. */
  static String direct(String prompt) throws Exception {
    GenerationRequest request =
        GenerationRequest.prompt(prompt).withMaxTokens(6).withSampling(new SamplingParams(0, 0, 1.0, 0, 0));
    return engine.submit(request).get(1, TimeUnit.MINUTES).text();
  }

  static Path write(String name, String... lines) throws IOException {
    Path file = dir.resolve(name);
    Files.createDirectories(file.getParent());
    Files.write(file, List.of(lines));
    return file;
  }

  @Test
  void jsonlOverSeveralSplitFilesGivesEveryRowOnceWithTheEngineCompletion() throws Exception {
    Map<String, String> prompts = new HashMap<>();
    List<String> a = new ArrayList<>();
    List<String> b = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      String prompt = "Tell me about item " + i;
      prompts.put("id" + i, prompt);
      String line =
          i % 2 == 0
              ? "{\"id\": \"id" + i + "\", \"prompt\": \"" + prompt + "\", \"n\": " + i + "}"
              : "{\"prompt\": \"" + prompt + "\", \"id\": \"id" + i + "\", \"tag\": \"odd\"}";
      (i < 10 ? a : b).add(line);
    }
    write("jsonl/a.jsonl", a.toArray(String[]::new));
    write("jsonl/b.jsonl", b.toArray(String[]::new));
    write("jsonl/c.json", "{\"id\": \"last\", \"prompt\": \"Last one\"}");
    prompts.put("last", "Last one");

    Dataset<Row> df =
        spark.read()
            .format("llm")
            .option("model", model.toString())
            .option("max_tokens", "6")
            .option("temperature", "0")
            .option("max_split_bytes", "200")
            .load(dir.resolve("jsonl").toString());

    assertEquals(List.of("id", "n", "tag", "prompt", "completion", "error"), List.of(df.schema().fieldNames()));
    assertTrue(df.rdd().getNumPartitions() > 3, "files are cut into several splits");
    List<Row> rows = df.collectAsList();
    assertEquals(prompts.size(), rows.size());
    Map<String, String> completions = new HashMap<>();
    for (Row row : rows) {
      String id = row.getString(0);
      assertNull(completions.put(id, row.getString(4)), "id " + id + " read twice");
      assertEquals(prompts.get(id), row.getString(3));
      assertEquals(direct(prompts.get(id)), row.getString(4), "completion of " + id);
      assertNull(row.get(5));
    }
    assertEquals(prompts.keySet(), completions.keySet());
    assertEquals("4", rows.stream().filter(r -> "id4".equals(r.getString(0))).findFirst().orElseThrow().getString(1));

    df.createOrReplaceTempView("llm_read");
    for (Row row :
        spark.sql("SELECT completion, llm_generate(prompt, map('max_tokens', 6, 'temperature', 0)) FROM llm_read")
            .collectAsList()) {
      assertEquals(row.getString(0), row.getString(1), "the data source and llm_generate agree");
    }

    SparkPlan plan = df.queryExecution().executedPlan();
    BatchScanExec scan = find(plan, BatchScanExec.class);
    assertTrue(scan.supportsColumnar() && scan.scan() instanceof LlmScan, plan.toString());
    find(plan, ColumnarToRowExec.class); // the columnar batches are really what Spark reads
    assertEquals(prompts.size(), scan.metrics().apply(LlmScanMetrics.ROWS).value());
    assertEquals(0, scan.metrics().apply(LlmScanMetrics.FAILED_ROWS).value());
    assertTrue(scan.metrics().apply(LlmScanMetrics.GENERATED_TOKENS).value() > 0);
    assertTrue(scan.metrics().apply(LlmScanMetrics.PROMPT_TOKENS).value() > 0);
    assertTrue(scan.metrics().contains(LlmScanMetrics.GENERATION_TIME));
  }

  @Test
  void textFormatReadsOnePromptPerLine() throws Exception {
    Path file = write("text/prompts.txt", "The river runs", "", "Once upon a time", "Spark is");
    List<Row> rows =
        spark.read()
            .format("llm")
            .option("temperature", "0")
            .option("max_tokens", "6")
            .load(file.toString())
            .collectAsList();
    assertEquals(3, rows.size());
    for (Row row : rows) {
      assertEquals(direct(row.getString(0)), row.getString(1));
    }
  }

  @Test
  void unreadableLinesAreRowsWithAnError() throws Exception {
    Path file =
        write(
            "bad/in.jsonl",
            "{\"id\": \"ok\", \"prompt\": \"Spark is\"}",
            "{\"id\": \"broken\", \"prompt\": ",
            "{\"id\": \"noprompt\"}",
            "[1, 2]");
    Dataset<Row> df =
        spark.read().format("llm").option("return", "struct").option("temperature", "0").load(file.toString());
    List<Row> rows = df.collectAsList();
    assertEquals(4, rows.size());
    List<String> errors = new ArrayList<>();
    for (Row row : rows) {
      Row completion = row.getStruct(2);
      if ("ok".equals(row.getString(0))) {
        assertNull(completion.get(4));
        assertTrue(completion.getInt(3) > 0);
      } else {
        assertNull(completion.get(0), "no text for an unreadable line");
        errors.add(completion.getString(4));
      }
    }
    assertEquals(3, errors.size(), errors.toString());
    assertTrue(errors.stream().anyMatch(e -> e.startsWith("malformed JSON in the line at byte 35 of ")), errors.toString());
    assertTrue(errors.stream().anyMatch(e -> e.startsWith("no 'prompt' field in the line at byte 63 ")), errors.toString());
    assertTrue(errors.stream().anyMatch(e -> e.endsWith("is not a JSON object")), errors.toString());

    // In text mode the message is in the error column.
    Dataset<Row> textMode = spark.read().format("llm").load(file.toString());
    assertEquals(3, textMode.where("error IS NOT NULL AND completion IS NULL").count());
    BatchScanExec scan = find(df.queryExecution().executedPlan(), BatchScanExec.class);
    assertEquals(3, scan.metrics().apply(LlmScanMetrics.FAILED_ROWS).value());
  }

  @Test
  void badOptionsAndMissingPathsFailWhenLoading() throws Exception {
    Path file = write("opts/in.txt", "hello");
    IllegalArgumentException unknown =
        assertThrows(
            IllegalArgumentException.class,
            () -> spark.read().format("llm").option("max_tokenz", "3").load(file.toString()));
    assertTrue(unknown.getMessage().contains("unknown option 'max_tokenz'"), unknown.getMessage());
    assertTrue(
        unknown.getMessage().contains("valid options: format, prompt_column, max_split_bytes, schema_sample_lines, model"),
        unknown.getMessage());

    String missing = model.resolveSibling("no-such-model").toString();
    IllegalArgumentException noModel =
        assertThrows(
            IllegalArgumentException.class,
            () -> spark.read().format("llm").option("model", missing).load(file.toString()));
    assertTrue(noModel.getMessage().contains(missing), noModel.getMessage());

    IllegalArgumentException noInput =
        assertThrows(
            IllegalArgumentException.class, () -> spark.read().format("llm").load(dir.resolve("nothing*").toString()));
    assertTrue(noInput.getMessage().contains("nothing*"), noInput.getMessage());
  }

  static <T extends SparkPlan> T find(SparkPlan plan, Class<T> type) {
    if (type.isInstance(plan)) {
      return type.cast(plan);
    }
    for (SparkPlan child : ScalaSeqs.<SparkPlan>list(plan.children())) {
      try {
        return find(child, type);
      } catch (AssertionError e) {
        // not under this child
      }
    }
    throw new AssertionError("no " + type.getSimpleName() + " in\n" + plan);
  }
}
