package org.sparkllm.engine;

/**
 * How an engine is sized.
 *
 * @param maxSequences most requests running at once (KV-cache slots)
 * @param maxBatchTokens most tokens computed in one step: decode tokens plus prefill chunks
 * @param kvCacheTokens KV-cache capacity in tokens, all sequences together
 * @param pageTokens KV-cache allocation unit in tokens
 * @param maxContextTokens longest prompt plus completion; 0 means the model's limit
 * @param threads CPU backend worker threads
 */
public record EngineOptions(
    int maxSequences,
    int maxBatchTokens,
    int kvCacheTokens,
    int pageTokens,
    int maxContextTokens,
    int threads) {

  public EngineOptions {
    positive("maxSequences", maxSequences);
    positive("maxBatchTokens", maxBatchTokens);
    positive("kvCacheTokens", kvCacheTokens);
    positive("pageTokens", pageTokens);
    positive("threads", threads);
    if (maxContextTokens < 0) {
      throw new IllegalArgumentException("maxContextTokens = " + maxContextTokens + " must be >= 0");
    }
    if (kvCacheTokens < pageTokens) {
      throw new IllegalArgumentException(
          "kvCacheTokens = " + kvCacheTokens + " must be at least pageTokens = " + pageTokens);
    }
  }

  public static EngineOptions defaults() {
    return new EngineOptions(64, 512, 32768, 16, 0, Runtime.getRuntime().availableProcessors());
  }

  public EngineOptions withMaxSequences(int n) {
    return new EngineOptions(n, maxBatchTokens, kvCacheTokens, pageTokens, maxContextTokens, threads);
  }

  public EngineOptions withMaxBatchTokens(int n) {
    return new EngineOptions(maxSequences, n, kvCacheTokens, pageTokens, maxContextTokens, threads);
  }

  public EngineOptions withKvCacheTokens(int n) {
    return new EngineOptions(maxSequences, maxBatchTokens, n, pageTokens, maxContextTokens, threads);
  }

  public EngineOptions withMaxContextTokens(int n) {
    return new EngineOptions(maxSequences, maxBatchTokens, kvCacheTokens, pageTokens, n, threads);
  }

  public EngineOptions withThreads(int n) {
    return new EngineOptions(maxSequences, maxBatchTokens, kvCacheTokens, pageTokens, maxContextTokens, n);
  }

  private static void positive(String name, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " = " + value + " must be >= 1");
    }
  }
}
