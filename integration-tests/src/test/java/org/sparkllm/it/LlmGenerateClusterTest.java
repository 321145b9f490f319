package org.sparkllm.it;

import static org.apache.spark.sql.functions.call_function;
import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.sparkllm.engine.Engine;
import org.sparkllm.engine.EngineOptions;
import org.sparkllm.engine.GenerationRequest;
import org.sparkllm.engine.GenerationResult;
import org.sparkllm.engine.SamplingParams;

/** llm_generate over 1,000 prompts in 8 partitions on two executors, through SQL and call_function. */
@Timeout(600)
class LlmGenerateClusterTest {
  private static final int ROWS = 1000;
  private static final int PARTITIONS = 8;
  private static final int MAX_TOKENS = 8;

  /**
   * Seeded sampling with every sampling option spelled out, so the engine run below needs no
   * knowledge of how the connector fills in the model's defaults.
   */
  private static final Map<String, String> SEEDED = seededOptions();

  private static final SamplingParams SEEDED_SAMPLING = new SamplingParams(0.8, 0, 1, 0, 7);

  private static SparkSession spark;

  @BeforeAll
  static void registerPrompts() {
    spark = TestCluster.session();
    Dataset<Row> prompts = PromptTables.numbered(spark, ROWS, PARTITIONS);
    assertEquals(PARTITIONS, prompts.rdd().getNumPartitions());
    prompts.createOrReplaceTempView("prompts_1k");
  }

  @Test
  void sqlCompletesEveryRowExactlyOnce() {
    CompletionChecks.everyRowOnce(viaSql(), ROWS);
  }

  /** Both APIs plan the same operator, so this is also a second seeded run: every row must repeat. */
  @Test
  void callFunctionRerunsTheSqlQueryWithIdenticalCompletions() {
    Map<Long, String> viaSql = CompletionChecks.everyRowOnce(viaSql(), ROWS);
    Map<Long, String> viaCallFunction = CompletionChecks.everyRowOnce(viaCallFunction(), ROWS);

    assertEquals(viaSql, viaCallFunction);
  }

  @Test
  void completionsEqualTheEngineRunDirectly() {
    Map<Long, String> fromSpark = CompletionChecks.everyRowOnce(viaSql(), ROWS);

    List<Long> sample = new ArrayList<>();
    for (long id = 0; id < ROWS; id += 37) {
      sample.add(id);
    }
    try (Engine engine = Engine.open(TinyModel.dir(), EngineOptions.defaults().withThreads(1))) {
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (long id : sample) {
        futures.add(
            engine.submit(
                GenerationRequest.prompt(PromptTables.prompt(id))
                    .withMaxTokens(MAX_TOKENS)
                    .withSampling(SEEDED_SAMPLING)));
      }
      for (int i = 0; i < sample.size(); i++) {
        long id = sample.get(i);
        assertEquals(futures.get(i).join().text(), fromSpark.get(id), "completion of row " + id);
      }
    }
  }

  private static Dataset<Row> viaSql() {
    return spark.sql(
        "SELECT id, prompt, llm_generate(prompt, " + LlmOptionMaps.sql(SEEDED) + ") AS completion FROM prompts_1k");
  }

  private static Dataset<Row> viaCallFunction() {
    return spark
        .table("prompts_1k")
        .withColumn("completion", call_function("llm_generate", col("prompt"), LlmOptionMaps.column(SEEDED)));
  }

  private static Map<String, String> seededOptions() {
    Map<String, String> o = new LinkedHashMap<>();
    o.put("max_tokens", Integer.toString(MAX_TOKENS));
    o.put("temperature", "0.8");
    o.put("top_k", "0");
    o.put("top_p", "1");
    o.put("min_p", "0");
    o.put("seed", "7");
    return o;
  }
}
