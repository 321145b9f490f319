package org.sparkllm.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class CounterRandomTest {
  @Test
  void normalValuesHaveMeanZeroAndUnitVariance() {
    long key = CounterRandom.streamKey(1234, "w");
    int n = 1_000_000;
    double sum = 0;
    double sumSquares = 0;
    float max = 0;
    for (int i = 0; i < n; i++) {
      float v = CounterRandom.normal(key, i);
      sum += v;
      sumSquares += v * v;
      max = Math.max(max, Math.abs(v));
    }
    double mean = sum / n;
    assertEquals(0, mean, 0.005);
    assertEquals(1, sumSquares / n - mean * mean, 0.005);
    assertTrue(max > 3 && max <= 2 * Math.sqrt(3), "max |value| " + max);
  }

  @Test
  void streamsDependOnSeedAndNameOnly() {
    assertEquals(CounterRandom.streamKey(1, "a"), CounterRandom.streamKey(1, "a"));
    assertNotEquals(CounterRandom.streamKey(1, "a"), CounterRandom.streamKey(2, "a"));
    assertNotEquals(CounterRandom.streamKey(1, "a"), CounterRandom.streamKey(1, "b"));
  }

  @Test
  void aChunkStartingMidStreamEqualsTheSameSliceOfTheWholeStream() {
    long key = CounterRandom.streamKey(7, "model.norm.weight");
    float[] whole = new float[300_000];
    RandomWeights.fill(whole, whole.length, key, 0, 1.0, 0.1);
    float[] tail = new float[200_000];
    RandomWeights.fill(tail, tail.length, key, 100_000, 1.0, 0.1);

    assertArrayEquals(Arrays.copyOfRange(whole, 100_000, 300_000), tail);
    assertNotEquals(whole[0], whole[1]);
  }
}
