package org.sparkllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.ForwardBatch.Chunk;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.model.RopeScaling;

/**
 * The engine's determinism rests on this: a token's logits do not depend on how its sequence was
 * chunked, what else shared the batch, or the thread count. Numerical agreement with Hugging Face is
 * checked separately by {@code CpuBackendGoldenTest}.
 */
class CpuBackendTest {
  static final LlamaConfig CONFIG =
      new LlamaConfig(48, 2, 6, 2, 8, 96, 101, 256, 1e-5, 10000, new RopeScaling(4, 1, 4, 32),
          false, 0, new int[] {1});

  @Test
  void chunkedPrefillEqualsTokenByTokenDecodeBitForBit() {
    int[] prompt = randomTokens(37, 1);
    float[] whole = lastLogits(backend(1), List.of(prompt.length));
    float[] chunked = lastLogits(backend(2), List.of(5, 16, 9, 7));
    float[] oneByOne = lastLogits(backend(1), ones(prompt.length));
    assertArrayEquals(whole, chunked);
    assertArrayEquals(whole, oneByOne);
  }

  @Test
  void batchNeighboursDoNotChangeASequence() {
    int[] a = randomTokens(20, 2);
    int[] b = randomTokens(33, 3);
    CpuBackend alone = backend(1);
    alone.kvCache().acquireSlot();
    alone.kvCache().ensureCapacity(0, a.length);
    float[] aloneLogits = alone.forward(new ForwardBatch(List.of(new Chunk(0, 0, a, true))))[0];

    CpuBackend shared = backend(2);
    int slotB = shared.kvCache().acquireSlot();
    int slotA = shared.kvCache().acquireSlot();
    shared.kvCache().ensureCapacity(slotA, a.length);
    shared.kvCache().ensureCapacity(slotB, b.length);
    float[][] both =
        shared.forward(
            new ForwardBatch(List.of(new Chunk(slotB, 0, b, true), new Chunk(slotA, 0, a, true))));
    assertArrayEquals(aloneLogits, both[1]);
    assertFalse(java.util.Arrays.equals(both[0], both[1]));
  }

  @Test
  void onlyChunksThatAskForLogitsGetThem() {
    CpuBackend backend = backend(1);
    backend.kvCache().acquireSlot();
    backend.kvCache().ensureCapacity(0, 8);
    float[][] logits =
        backend.forward(new ForwardBatch(List.of(new Chunk(0, 0, randomTokens(8, 4), false))));
    assertEquals(0, logits.length);
  }

  @Test
  void tokenOutsideVocabularyIsRejected() {
    CpuBackend backend = backend(1);
    backend.kvCache().acquireSlot();
    backend.kvCache().ensureCapacity(0, 1);
    assertThrows(
        IllegalArgumentException.class,
        () -> backend.forward(new ForwardBatch(List.of(new Chunk(0, 0, new int[] {101}, true)))));
  }

  /** Feeds a fixed prompt in chunks of the given sizes; returns the logits after the last. */
  private static float[] lastLogits(CpuBackend backend, List<Integer> chunkSizes) {
    int[] prompt = randomTokens(chunkSizes.stream().mapToInt(Integer::intValue).sum(), 1);
    int slot = backend.kvCache().acquireSlot();
    int position = 0;
    float[] last = null;
    for (int size : chunkSizes) {
      int[] chunk = java.util.Arrays.copyOfRange(prompt, position, position + size);
      backend.kvCache().ensureCapacity(slot, position + size);
      float[][] out =
          backend.forward(new ForwardBatch(List.of(new Chunk(slot, position, chunk, true))));
      last = out[0];
      position += size;
    }
    return last;
  }

  static CpuBackend backend(int threads) {
    return new CpuBackend(CONFIG, randomWeights(CONFIG, 7), new CpuKvCache(CONFIG, 4, 256, 16), threads, Set.of());
  }

  static CpuWeights randomWeights(LlamaConfig c, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int h = c.hiddenSize();
    List<CpuWeights.Layer> layers = new ArrayList<>();
    for (int i = 0; i < c.numLayers(); i++) {
      layers.add(
          new CpuWeights.Layer(
              norm(random, h),
              gaussian(random, c.qDim() * h, h),
              gaussian(random, c.kvDim() * h, h),
              gaussian(random, c.kvDim() * h, h),
              gaussian(random, h * c.qDim(), c.qDim()),
              norm(random, h),
              gaussian(random, c.intermediateSize() * h, h),
              gaussian(random, c.intermediateSize() * h, h),
              gaussian(random, h * c.intermediateSize(), c.intermediateSize())));
    }
    return new CpuWeights(
        gaussian(random, c.vocabSize() * h, 1),
        layers.toArray(CpuWeights.Layer[]::new),
        norm(random, h),
        gaussian(random, c.vocabSize() * h, h));
  }

  private static float[] gaussian(SplittableRandom random, int n, int fanIn) {
    float[] w = new float[n];
    double std = 1 / Math.sqrt(fanIn);
    for (int i = 0; i < n; i++) {
      w[i] = (float) (boxMuller(random) * std);
    }
    return w;
  }

  private static float[] norm(SplittableRandom random, int n) {
    float[] w = new float[n];
    for (int i = 0; i < n; i++) {
      w[i] = (float) (1 + 0.1 * boxMuller(random));
    }
    return w;
  }

  private static double boxMuller(SplittableRandom random) {
    return Math.sqrt(-2 * Math.log(1 - random.nextDouble())) * Math.cos(2 * Math.PI * random.nextDouble());
  }

  private static int[] randomTokens(int n, long seed) {
    return new SplittableRandom(seed).ints(n, 0, CONFIG.vocabSize()).toArray();
  }

  private static List<Integer> ones(int n) {
    List<Integer> list = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      list.add(1);
    }
    return list;
  }
}
