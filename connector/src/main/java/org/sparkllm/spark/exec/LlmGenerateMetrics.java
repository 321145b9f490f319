package org.sparkllm.spark.exec;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.execution.metric.SQLMetric;
import org.apache.spark.sql.execution.metric.SQLMetrics;

/**
 * The Spark UI metrics of LlmGenerateExec. Throughput is generated tokens over generation time;
 * per-task peaks show as (min, med, max) across tasks.
 */
public final class LlmGenerateMetrics implements Serializable {
  public static final String OUTPUT_ROWS = "numOutputRows";
  public static final String ENGINE_REQUESTS = "engineRequests";
  public static final String REUSED_ROWS = "reusedRows";
  public static final String FAILED_ROWS = "failedRows";
  public static final String PROMPT_TOKENS = "promptTokens";
  public static final String GENERATED_TOKENS = "generatedTokens";
  public static final String GENERATION_TIME = "generationTime";
  public static final String PEAK_IN_FLIGHT = "peakInFlight";

  private final Map<String, SQLMetric> metrics = new LinkedHashMap<>();

  LlmGenerateMetrics(SparkContext sc) {
    metrics.put(OUTPUT_ROWS, SQLMetrics.createMetric(sc, "number of output rows"));
    metrics.put(ENGINE_REQUESTS, SQLMetrics.createMetric(sc, "requests sent to the engine"));
    metrics.put(REUSED_ROWS, SQLMetrics.createMetric(sc, "rows answered by an identical earlier call"));
    metrics.put(FAILED_ROWS, SQLMetrics.createMetric(sc, "rows with an error"));
    metrics.put(PROMPT_TOKENS, SQLMetrics.createMetric(sc, "prompt tokens"));
    metrics.put(GENERATED_TOKENS, SQLMetrics.createMetric(sc, "generated tokens"));
    metrics.put(
        GENERATION_TIME,
        SQLMetrics.createNanoTimingMetric(sc, "generation time (first request to last result)", -1));
    metrics.put(PEAK_IN_FLIGHT, SQLMetrics.createAverageMetric(sc, "peak requests in flight per task"));
  }

  public Map<String, SQLMetric> all() {
    return metrics;
  }

  SQLMetric get(String name) {
    return metrics.get(name);
  }

  /** Average metrics keep one decimal as value * 10; this records a task's whole-number peak. */
  void recordPeak(int peak) {
    metrics.get(PEAK_IN_FLIGHT).set((double) peak);
  }
}
