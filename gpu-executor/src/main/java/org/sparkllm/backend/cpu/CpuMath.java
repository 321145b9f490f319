package org.sparkllm.backend.cpu;

/**
 * The float32 arithmetic of the reference backend. Every output element is computed by one thread in
 * one fixed order, whatever the batch, chunking or thread count: a token's logits are bit-identical
 * whether it was prefilled in a chunk of 512, decoded alone, or recomputed after preemption. The
 * engine's determinism tests rely on that.
 */
final class CpuMath {
  private CpuMath() {}

  /** Dot product with eight independent partial sums (lets the CPU pipeline; order is fixed). */
  static float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
      int ai = aOffset + i;
      int bi = bOffset + i;
      s0 += a[ai] * b[bi];
      s1 += a[ai + 1] * b[bi + 1];
      s2 += a[ai + 2] * b[bi + 2];
      s3 += a[ai + 3] * b[bi + 3];
      s4 += a[ai + 4] * b[bi + 4];
      s5 += a[ai + 5] * b[bi + 5];
      s6 += a[ai + 6] * b[bi + 6];
      s7 += a[ai + 7] * b[bi + 7];
    }
    float tail = 0;
    for (; i < n; i++) {
      tail += a[aOffset + i] * b[bOffset + i];
    }
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)) + tail;
  }

  /**
   * RMSNorm of row {@code row} of {@code x} ({@code width} wide) into the same row of {@code out}:
   * {@code out = x / sqrt(mean(x^2) + eps) * weight}, as Hugging Face's LlamaRMSNorm.
   */
  static void rmsNorm(float[] x, float[] weight, float eps, int row, int width, float[] out) {
    int base = row * width;
    float sumSquares = 0;
    for (int i = 0; i < width; i++) {
      sumSquares += x[base + i] * x[base + i];
    }
    float inverseRms = (float) (1.0 / Math.sqrt(sumSquares / width + eps));
    for (int i = 0; i < width; i++) {
      out[base + i] = weight[i] * (x[base + i] * inverseRms);
    }
  }

  /**
   * Rotates one head vector in place (rotate-half layout): pairs (i, i + half) turn by the angle
   * whose cosine and sine are {@code cos[i]} and {@code sin[i]}.
   */
  static void rope(float[] v, int offset, int headDim, float[] cos, float[] sin, int tableOffset) {
    int half = headDim / 2;
    for (int i = 0; i < half; i++) {
      float a = v[offset + i];
      float b = v[offset + i + half];
      float c = cos[tableOffset + i];
      float s = sin[tableOffset + i];
      v[offset + i] = a * c - b * s;
      v[offset + i + half] = b * c + a * s;
    }
  }

  static float silu(float x) {
    return x / (1.0f + (float) Math.exp(-x));
  }
}
