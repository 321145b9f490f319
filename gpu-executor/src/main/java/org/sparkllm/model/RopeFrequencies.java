package org.sparkllm.model;

/**
 * Rotary position embedding in Hugging Face's rotate-half layout: dimension i of a head pairs with
 * dimension i + headDim/2, both rotated by angle {@code position * inverseFrequency[i]}.
 */
public final class RopeFrequencies {
  private RopeFrequencies() {}

  /** The headDim/2 inverse frequencies, with llama3 scaling applied when the model has it. */
  public static double[] inverseFrequencies(LlamaConfig config) {
    int half = config.headDim() / 2;
    double[] inv = new double[half];
    for (int i = 0; i < half; i++) {
      inv[i] = 1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / config.headDim());
    }
    RopeScaling s = config.ropeScaling();
    if (s != null) {
      applyLlama3Scaling(inv, s);
    }
    return inv;
  }

  /**
   * Llama 3.1's scaling: wavelengths longer than the original context divided by the low-frequency
   * factor are slowed down by {@code factor}; shorter than original / highFreqFactor are kept; the
   * band between is interpolated linearly in original/wavelength.
   */
  private static void applyLlama3Scaling(double[] inv, RopeScaling s) {
    double lowFreqWavelength = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
    double highFreqWavelength = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
    for (int i = 0; i < inv.length; i++) {
      double wavelength = 2 * Math.PI / inv[i];
      if (wavelength > lowFreqWavelength) {
        inv[i] = inv[i] / s.factor();
      } else if (wavelength >= highFreqWavelength) {
        double smooth =
            (s.originalMaxPositionEmbeddings() / wavelength - s.lowFreqFactor())
                / (s.highFreqFactor() - s.lowFreqFactor());
        inv[i] = (1 - smooth) * inv[i] / s.factor() + smooth * inv[i];
      }
    }
  }
}
