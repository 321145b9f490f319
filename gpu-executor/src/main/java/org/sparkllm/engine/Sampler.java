package org.sparkllm.engine;

import java.util.Arrays;

/**
 * Chooses the next token from logits on the host. Counter-based randomness: the uniform draw for the
 * i-th generated token is a hash of (seed, i), so the choice never depends on what else ran before.
 */
final class Sampler {
  private Sampler() {}

  static int sample(float[] logits, SamplingParams p, int generatedIndex) {
    if (p.isGreedy()) {
      return argmax(logits);
    }
    long[] order = descendingOrder(logits);
    int kept = p.topK() > 0 ? Math.min(p.topK(), order.length) : order.length;
    double maxLogit = logits[index(order[0])];
    double[] probs = new double[kept];
    double sum = 0;
    for (int i = 0; i < kept; i++) {
      probs[i] = Math.exp((logits[index(order[i])] - maxLogit) / p.temperature());
      sum += probs[i];
    }
    if (p.topP() < 1) {
      double cumulative = 0;
      for (int i = 0; i < kept; i++) {
        cumulative += probs[i] / sum;
        if (cumulative >= p.topP()) {
          kept = i + 1;
          break;
        }
      }
    }
    if (p.minP() > 0) {
      double threshold = p.minP() * probs[0];
      int i = 1;
      while (i < kept && probs[i] >= threshold) {
        i++;
      }
      kept = i;
    }
    double total = 0;
    for (int i = 0; i < kept; i++) {
      total += probs[i];
    }
    double target = uniform(p.seed(), generatedIndex) * total;
    double cumulative = 0;
    for (int i = 0; i < kept; i++) {
      cumulative += probs[i];
      if (target < cumulative) {
        return index(order[i]);
      }
    }
    return index(order[kept - 1]);
  }

  /** The first index of the largest logit. */
  static int argmax(float[] logits) {
    int best = 0;
    for (int i = 1; i < logits.length; i++) {
      if (logits[i] > logits[best]) {
        best = i;
      }
    }
    return best;
  }

  /** Uniform in [0, 1) from (seed, counter) through a SplitMix64 finalizer. */
  static double uniform(long seed, int counter) {
    long z = seed + 0x9E3779B97F4A7C15L * (counter + 1L);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    z = z ^ (z >>> 31);
    return (z >>> 11) * 0x1.0p-53;
  }

  /**
   * Token ids sorted by logit, largest first, ties by smaller id: each entry packs an order-preserving
   * integer image of the logit above the inverted id, so one primitive sort does it.
   */
  private static long[] descendingOrder(float[] logits) {
    long[] packed = new long[logits.length];
    for (int i = 0; i < logits.length; i++) {
      int bits = Float.floatToIntBits(logits[i]);
      int orderedBits = bits >= 0 ? bits : bits ^ 0x7FFFFFFF;
      packed[i] = ((long) orderedBits << 32) | (0xFFFFFFFFL - i);
    }
    Arrays.sort(packed);
    for (int i = 0, j = packed.length - 1; i < j; i++, j--) {
      long tmp = packed[i];
      packed[i] = packed[j];
      packed[j] = tmp;
    }
    return packed;
  }

  private static int index(long packed) {
    return (int) (0xFFFFFFFFL - (packed & 0xFFFFFFFFL));
  }
}
