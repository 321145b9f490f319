package org.sparkllm.kvcache;

import java.util.Random;

/**
 * A seeded decode workload: requests arrive while fewer than {@code concurrency} run (at most
 * {@code maxArrivalsPerStep} per step, so arrivals spread out), with prompts of 64..1023 tokens, and
 * grow one token per step until a final length drawn up to {@code maxContext}.
 */
public final class DecodeTrace {
  private final Random random;
  private final int concurrency;
  private final int maxContext;
  private final int maxArrivalsPerStep;

  public DecodeTrace(long seed, int concurrency, int maxContext, int maxArrivalsPerStep) {
    if (maxContext < 1024 + 64) {
      throw new IllegalArgumentException("the trace needs maxContext >= 1088, got " + maxContext);
    }
    this.random = new Random(seed);
    this.concurrency = concurrency;
    this.maxContext = maxContext;
    this.maxArrivalsPerStep = maxArrivalsPerStep;
  }

  public int concurrency() {
    return concurrency;
  }

  public int maxArrivalsPerStep() {
    return maxArrivalsPerStep;
  }

  public int nextPromptTokens() {
    return 64 + random.nextInt(960);
  }

  /** Final length of a request with {@code promptTokens}: at least 64 generated tokens. */
  public int nextFinalTokens(int promptTokens) {
    int least = promptTokens + 64;
    return least + random.nextInt(maxContext - least + 1);
  }
}
