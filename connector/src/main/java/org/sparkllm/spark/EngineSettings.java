package org.sparkllm.spark;

import java.io.Serializable;
import java.nio.file.Path;
import org.sparkllm.engine.EngineOptions;

/**
 * How executors run the engine, from {@code spark.llm.*} settings only (not per call). Resolved on
 * the driver at analysis time and shipped with the plan, so a session's settings reach every
 * executor.
 *
 * @param backend "auto" (on an assigned, usable GPU "megakernel" if it is a Hopper, else "cuda"; otherwise
 *     the CPU), "cpu", "cuda" (the assigned GPU, or device 0 when Spark assigns none, as in local mode;
 *     fails if CUDA is unusable), or "megakernel" (as "cuda", decode steps in the persistent megakernel)
 * @param maxInFlight most requests a task keeps in the engine at once; submitting blocks beyond it
 * @param batchRows input rows per Arrow prompt batch
 * @param maxContextTokens 0 means the model's limit
 * @param threads CPU backend threads; 0 means one per available processor
 * @param modelCacheDir where models on a Hadoop file system are copied, once per node
 */
public record EngineSettings(
    String backend,
    int maxInFlight,
    int batchRows,
    int maxSequences,
    int kvCacheTokens,
    int maxBatchTokens,
    int maxContextTokens,
    int threads,
    String modelCacheDir)
    implements Serializable {

  public static final String DEFAULT_MODEL_CACHE_DIR =
      Path.of(System.getProperty("java.io.tmpdir"), "spark-llm-models").toString();

  public EngineOptions engineOptions() {
    EngineOptions options =
        EngineOptions.defaults()
            .withMaxSequences(maxSequences)
            .withKvCacheTokens(kvCacheTokens)
            .withMaxBatchTokens(maxBatchTokens)
            .withMaxContextTokens(maxContextTokens);
    return threads > 0 ? options.withThreads(threads) : options;
  }
}
