package org.sparkllm.checkpoint;

import java.nio.charset.StandardCharsets;

/**
 * A counter-based random source: value i of a stream is a pure function of (stream key, i). That makes
 * generation order-free, so a tensor can be produced chunk by chunk on many threads and still come out
 * bit-identical, and the weights of one tensor do not depend on which tensors were generated before.
 */
final class CounterRandom {
  private static final long GOLDEN_GAMMA = 0x9E37_79B9_7F4A_7C15L;
  /** Sum of four uniforms has variance 4/12; this rescales it to 1. */
  private static final double IRWIN_HALL_4_SCALE = Math.sqrt(3.0);

  private CounterRandom() {}

  /** The stream key of one tensor: a mix of the seed and a stable 64-bit hash of the name. */
  static long streamKey(long seed, String tensorName) {
    long hash = 0xCBF2_9CE4_8422_2325L; // FNV-1a 64 offset basis
    for (byte b : tensorName.getBytes(StandardCharsets.UTF_8)) {
      hash = (hash ^ (b & 0xFF)) * 0x0000_0100_0000_01B3L;
    }
    return mix(mix(seed) ^ hash);
  }

  /**
   * An approximately standard normal value (mean 0, variance 1): the scaled sum of four 16-bit
   * uniforms (Irwin–Hall). Tails stop at ±2√3, which random test weights do not need; one hash per
   * value keeps 1.2 G parameters fast to generate.
   */
  static float normal(long streamKey, long index) {
    long bits = mix(streamKey + index * GOLDEN_GAMMA);
    long sum = (bits & 0xFFFF) + ((bits >>> 16) & 0xFFFF) + ((bits >>> 32) & 0xFFFF) + (bits >>> 48);
    // Each uniform is (u + 0.5) / 65536, so their sum is (sum + 2) / 65536 with mean 2.
    double centered = (sum + 2) / 65536.0 - 2.0;
    return (float) (centered * IRWIN_HALL_4_SCALE);
  }

  /** SplitMix64's finalizer: a bijection whose output bits each depend on every input bit. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
    return z ^ (z >>> 31);
  }
}
