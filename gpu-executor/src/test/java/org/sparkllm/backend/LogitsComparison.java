package org.sparkllm.backend;

/** How far one backend's logits are from another's, shared by the GPU backends' tests. */
public final class LogitsComparison {
  private LogitsComparison() {}

  /** ||actual - expected|| / ||expected||. */
  public static double relativeError(float[] expected, float[] actual) {
    double[] squares = squares(expected, actual);
    return Math.sqrt(squares[0] / squares[1]);
  }

  /** {sum of (actual - expected)^2, sum of expected^2}: the parts of ||d||/||ref||, to add up over rows. */
  public static double[] squares(float[] expected, float[] actual) {
    double[] out = new double[2];
    for (int i = 0; i < expected.length; i++) {
      double d = (double) actual[i] - expected[i];
      out[0] += d * d;
      out[1] += (double) expected[i] * expected[i];
    }
    return out;
  }

  /** The first index of the largest value. */
  public static int argmax(float[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }
}
