package org.sparkllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SamplerTest {
  /** Probabilities 0.5, 0.3, 0.15, 0.05 at temperature 1, deliberately not in id order. */
  static final float[] LOGITS = {
    (float) Math.log(0.15), (float) Math.log(0.5), (float) Math.log(0.05), (float) Math.log(0.3)
  };

  @Test
  void greedyTakesTheFirstLargest() {
    assertEquals(1, Sampler.sample(new float[] {0, 3, 3, 1}, SamplingParams.greedy(), 0));
  }

  @Test
  void sameSeedAndIndexGiveTheSameToken() {
    SamplingParams p = new SamplingParams(1, 0, 1, 0, 42);
    for (int i = 0; i < 100; i++) {
      assertEquals(Sampler.sample(LOGITS, p, i), Sampler.sample(LOGITS, p, i));
    }
  }

  @Test
  void plainSamplingFollowsTheSoftmax() {
    assertDistribution(new SamplingParams(1, 0, 1, 0, 7), new double[] {0.15, 0.5, 0.05, 0.3});
  }

  @Test
  void temperatureSharpens() {
    double[] p = {0.15 * 0.15, 0.5 * 0.5, 0.05 * 0.05, 0.3 * 0.3};
    double sum = p[0] + p[1] + p[2] + p[3];
    for (int i = 0; i < 4; i++) {
      p[i] /= sum;
    }
    assertDistribution(new SamplingParams(0.5, 0, 1, 0, 7), p);
  }

  @Test
  void topKKeepsTheKMostLikelyRenormalised() {
    assertDistribution(new SamplingParams(1, 2, 1, 0, 8), new double[] {0, 0.5 / 0.8, 0, 0.3 / 0.8});
  }

  @Test
  void topPKeepsTheSmallestSetReachingP() {
    assertDistribution(
        new SamplingParams(1, 0, 0.9, 0, 9), new double[] {0.15 / 0.95, 0.5 / 0.95, 0, 0.3 / 0.95});
  }

  @Test
  void minPDropsTokensBelowAFractionOfTheBest() {
    assertDistribution(new SamplingParams(1, 0, 1, 0.4, 10), new double[] {0, 0.5 / 0.8, 0, 0.3 / 0.8});
  }

  @Test
  void invalidParametersNameTheOption() {
    InvalidRequestException e =
        assertThrows(InvalidRequestException.class, () -> new SamplingParams(1, 0, 1.5, 0, 0));
    assertTrue(e.getMessage().contains("top_p"), e.getMessage());
    assertThrows(InvalidRequestException.class, () -> new SamplingParams(-1, 0, 1, 0, 0));
    assertThrows(InvalidRequestException.class, () -> new SamplingParams(1, -1, 1, 0, 0));
    assertThrows(InvalidRequestException.class, () -> new SamplingParams(1, 0, 1, 1, 0));
  }

  /** Chi-square goodness of fit over 40,000 draws; 16.27 is the 0.999 quantile at 3 d.o.f. */
  private static void assertDistribution(SamplingParams p, double[] expected) {
    int draws = 40_000;
    int[] counts = new int[expected.length];
    for (int i = 0; i < draws; i++) {
      counts[Sampler.sample(LOGITS, p, i)]++;
    }
    double chiSquare = 0;
    for (int i = 0; i < expected.length; i++) {
      if (expected[i] == 0) {
        assertEquals(0, counts[i], "token " + i + " must never be drawn");
      } else {
        double e = expected[i] * draws;
        chiSquare += (counts[i] - e) * (counts[i] - e) / e;
      }
    }
    assertTrue(chiSquare < 16.27, "chi-square " + chiSquare + " for counts " + java.util.Arrays.toString(counts));
  }
}
