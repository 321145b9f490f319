package org.sparkllm.spark;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkllm.spark.functions.llm_generate;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.SparkPlan;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sparkllm.engine.Engine;
import org.sparkllm.engine.EngineOptions;
import org.sparkllm.engine.GenerationRequest;
import org.sparkllm.engine.SamplingParams;
import org.sparkllm.spark.exec.LlmGenerateExec;
import org.sparkllm.spark.exec.LlmGenerateMetrics;

/** llm_generate end to end on a local[2] session with the tiny model, checked against the engine. */
class LlmGenerateTest {
  static final List<String> PROMPTS =
      List.of("The river runs", "Once upon a time", "Spark is", "hello world", "A B C", "Why?");

  static Path model;
  static SparkSession spark;
  static Engine engine;

  @BeforeAll
  static void start() {
    model = TestSpark.tinyModel();
    spark = TestSpark.session(model);
    engine = Engine.open(model, EngineOptions.defaults().withThreads(1));
    spark.createDataset(PROMPTS, Encoders.STRING()).toDF("prompt").createOrReplaceTempView("prompts");
  }

  @AfterAll
  static void stop() {
    spark.stop();
    engine.close();
  }

  static String direct(GenerationRequest request) throws Exception {
    return engine.submit(request).get(1, TimeUnit.MINUTES).text();
  }

  static Dataset<Row> prompts(List<String> prompts, int partitions) {
    return spark.createDataset(prompts, Encoders.STRING()).toDF("prompt").repartition(partitions);
  }

  static List<String> column(Dataset<Row> df, String name) {
    List<String> out = new ArrayList<>();
    for (Row r : df.select(name).collectAsList()) {
      out.add(r.isNullAt(0) ? null : r.getString(0));
    }
    return out;
  }

  static LlmGenerateExec operator(Dataset<Row> df) {
    List<LlmGenerateExec> ops = TestSpark.operators(df.queryExecution().executedPlan());
    assertEquals(1, ops.size(), "one LlmGenerateExec in\n" + df.queryExecution().executedPlan());
    return ops.get(0);
  }

  static long metric(LlmGenerateExec op, String name) {
    return op.metrics().apply(name).value();
  }

  @Test
  void dataFrameAndSqlMatchTheEngine() throws Exception {
    List<String> expected = new ArrayList<>();
    for (String p : PROMPTS) {
      expected.add(direct(GenerationRequest.prompt(p).withMaxTokens(8)));
    }
    Dataset<Row> api = spark.table("prompts").withColumn("out", llm_generate(col("prompt")));
    assertEquals(expected, column(api, "out"));

    Dataset<Row> sql = spark.sql("SELECT llm_generate(prompt, map('max_tokens', 8)) AS out FROM prompts");
    assertEquals(expected, column(sql, "out"));
  }

  @Test
  void seededSamplingAndChatOptionsMatchTheEngineAndRepeat() throws Exception {
    List<String> expected = new ArrayList<>();
    for (String p : PROMPTS) {
      expected.add(
          direct(
              GenerationRequest.prompt(p)
                  .withMaxTokens(6)
                  .withChat("Be brief.")
                  .withSampling(new SamplingParams(0.9, 0, 1.0, 0, 7))));
    }
    String query =
        "SELECT llm_generate(prompt, named_struct('max_tokens', 6, 'temperature', 0.9, 'top_k', 0,"
            + " 'top_p', 1, 'seed', 7, 'system_prompt', 'Be brief.')) AS out FROM prompts";
    assertEquals(expected, column(spark.sql(query), "out"));
    assertEquals(expected, column(spark.sql(query), "out"));
  }

  @Test
  void structReturnCarriesCountsAndFinishReason() throws Exception {
    Row row =
        spark.sql("SELECT llm_generate(prompt, map('return', 'struct')) AS r FROM prompts LIMIT 1")
            .first()
            .getStruct(0);
    assertEquals(direct(GenerationRequest.prompt(PROMPTS.get(0)).withMaxTokens(8)), row.getString(0));
    assertEquals("length", row.getString(1));
    assertTrue(row.getInt(2) > 0);
    assertEquals(8, row.getInt(3));
    assertTrue(row.isNullAt(4));
  }

  @Test
  void keepsManyRequestsInFlightForOnePartition() {
    List<String> many = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      many.add("prompt number " + i);
    }
    Dataset<Row> out = prompts(many, 1).withColumn("out", llm_generate(col("prompt"), Map.of("max_tokens", "16")));
    assertEquals(32, out.collectAsList().size());
    LlmGenerateExec op = operator(out);
    double peak = metric(op, LlmGenerateMetrics.PEAK_IN_FLIGHT) / 10.0; // average metrics store x10
    assertTrue(peak >= 8, "peak requests in flight " + peak);
    assertEquals(32, metric(op, LlmGenerateMetrics.OUTPUT_ROWS));
    assertEquals(32 * 16, metric(op, LlmGenerateMetrics.GENERATED_TOKENS));
  }

  @Test
  void explainShowsTheOperatorWithInputFiltersBelowIt() {
    Dataset<Row> df =
        spark.range(0, 20).selectExpr("id", "concat('p', id) AS prompt")
            .withColumn("out", llm_generate(col("prompt")))
            .filter(col("id").gt(15));
    String plan = df.queryExecution().executedPlan().treeString();
    int operatorAt = plan.indexOf("LlmGenerate");
    int filterAt = plan.indexOf("Filter");
    assertTrue(operatorAt >= 0 && filterAt > operatorAt, "filter below the operator in\n" + plan);
    assertEquals(4, df.collectAsList().size());
    assertEquals(4, metric(operator(df), LlmGenerateMetrics.ENGINE_REQUESTS));
  }

  @Test
  void filterOnTheResultRunsAboveIt() throws Exception {
    String first = direct(GenerationRequest.prompt(PROMPTS.get(0)).withMaxTokens(8));
    Dataset<Row> df =
        spark.table("prompts").withColumn("out", llm_generate(col("prompt"))).filter(col("out").equalTo(first));
    assertEquals(List.of(PROMPTS.get(0)), column(df, "prompt"));
  }

  @Test
  void nullPromptGivesNullAndEmptyPromptWorks() {
    Dataset<Row> df =
        spark.sql("SELECT llm_generate(p) AS out FROM VALUES (CAST(NULL AS STRING)), ('') AS t(p)");
    List<String> out = column(df, "out");
    assertNull(out.get(0));
    assertNotNull(out.get(1));
  }

  @Test
  void overLongPromptIsAPerRowErrorOrFailsTheTaskNamingTheRow() {
    String longPrompt = "word ".repeat(5000);
    prompts(List.of("short one", longPrompt, "short two"), 1).createOrReplaceTempView("long_prompts");

    List<Row> structs =
        spark.sql(
                "SELECT llm_generate(prompt, map('fail_on_error', 'false', 'return', 'struct')) AS r"
                    + " FROM long_prompts")
            .collectAsList();
    Row bad = structs.get(1).getStruct(0);
    assertNull(bad.getString(0));
    assertTrue(bad.getString(4).contains("context limit"), bad.getString(4));
    assertNull(structs.get(0).getStruct(0).getString(4));

    List<String> texts =
        column(spark.sql("SELECT llm_generate(prompt, map('fail_on_error', false)) AS out FROM long_prompts"), "out");
    assertNull(texts.get(1));
    assertNotNull(texts.get(2));

    Exception e =
        assertThrows(
            Exception.class,
            () -> spark.sql("SELECT llm_generate(prompt) AS out FROM long_prompts").collectAsList());
    String message = messages(e);
    assertTrue(message.contains("row 1 of partition 0"), message);
    assertTrue(message.contains("word word word"), message);
    assertTrue(message.contains("context limit"), message);
  }

  @Test
  void badOptionsAndMissingModelFailAtAnalysis() {
    AnalysisException unknown =
        assertThrows(
            AnalysisException.class,
            () -> spark.sql("SELECT llm_generate(prompt, map('max_tokenz', '3')) FROM prompts"));
    assertTrue(unknown.getMessage().contains("max_tokenz"), unknown.getMessage());
    assertTrue(unknown.getMessage().contains("valid options: model, max_tokens"), unknown.getMessage());

    AnalysisException badValue =
        assertThrows(
            AnalysisException.class,
            () -> spark.table("prompts").select(llm_generate(col("prompt"), Map.of("temperature", "hot"))));
    assertTrue(badValue.getMessage().contains("option 'temperature' = 'hot'"), badValue.getMessage());

    AnalysisException outOfRange =
        assertThrows(
            AnalysisException.class,
            () -> spark.sql("SELECT llm_generate(prompt, map('top_p', '2')) FROM prompts"));
    assertTrue(outOfRange.getMessage().contains("top_p"), outOfRange.getMessage());

    String missing = model.resolveSibling("no-such-model").toString();
    AnalysisException noModel =
        assertThrows(
            AnalysisException.class,
            () -> spark.sql("SELECT llm_generate(prompt, map('model', '" + missing + "')) FROM prompts"));
    assertTrue(noModel.getMessage().contains(missing), noModel.getMessage());
  }

  @Test
  void keepsOrderAndCountAcrossPartitionsAndEvaluatesIdenticalPromptsOnce() throws Exception {
    Map<String, String> expected = new HashMap<>();
    for (int i = 0; i < 10; i++) {
      expected.put("p" + i, direct(GenerationRequest.prompt("p" + i).withMaxTokens(4)));
    }
    Dataset<Row> df =
        spark.range(0, 200, 1, 8)
            .selectExpr("id", "concat('p', id % 10) AS prompt")
            .withColumn("out", llm_generate(col("prompt"), Map.of("max_tokens", "4")));
    List<Row> rows = df.collectAsList();
    assertEquals(200, rows.size());
    for (int i = 0; i < 200; i++) {
      assertEquals(i, rows.get(i).getLong(0));
      assertEquals(expected.get("p" + (i % 10)), rows.get(i).getString(2));
    }
    LlmGenerateExec op = operator(df);
    assertEquals(8 * 10, metric(op, LlmGenerateMetrics.ENGINE_REQUESTS));
    assertEquals(200 - 8 * 10, metric(op, LlmGenerateMetrics.REUSED_ROWS));
    assertFalse(df.queryExecution().executedPlan().toString().isEmpty());
  }

  private static String messages(Throwable e) {
    StringBuilder all = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      all.append(t.getMessage()).append('\n');
    }
    return all.toString();
  }

}
