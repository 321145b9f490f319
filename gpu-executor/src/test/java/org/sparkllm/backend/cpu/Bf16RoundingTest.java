package org.sparkllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sparkllm.TestModels;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.ForwardBatch.Chunk;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.safetensors.ModelTensors;

/**
 * The CPU backend as a model of the CUDA backend's bf16 activations, on the tiny checkpoint: every
 * rounding point is wired (it moves the logits), prefill-only points leave a decoded-only sequence
 * alone, and each point alone costs a fraction of what all of them together cost (docs/testing.md
 * has the measured budget).
 */
class Bf16RoundingTest {
  private static final int PROMPT = 40;
  private static final int DECODE_STEPS = 6;
  private static LlamaConfig config;
  private static CpuWeights weights;

  @BeforeAll
  static void loadTinyCheckpoint() {
    Path model = TestModels.tiny();
    config = LlamaConfig.read(model);
    try (ModelTensors tensors = ModelTensors.open(model)) {
      weights = CpuWeights.load(config, tensors);
    }
  }

  @Test
  void everyPointMovesTheLogitsAndAllTogetherCostMost() {
    List<float[]> exact = promptThenDecode(Set.of());
    double all = meanRelativeError(exact, promptThenDecode(EnumSet.allOf(Bf16Rounding.class)));
    assertTrue(all > 2e-3 && all < 2e-2, "all roundings together: mean ||d||/||ref|| = " + all);
    for (Bf16Rounding point : Bf16Rounding.values()) {
      double alone = meanRelativeError(exact, promptThenDecode(EnumSet.of(point)));
      assertTrue(alone > 1e-4 && alone < all, point + " alone: " + alone + ", all together: " + all);
    }
  }

  @Test
  void prefillProbabilitiesLeaveADecodedOnlySequenceAlone() {
    int[] tokens = new Random(3).ints(12, 0, config.vocabSize()).toArray();
    List<float[]> exact = oneByOne(tokens, Set.of());
    List<float[]> rounded = oneByOne(tokens, EnumSet.of(Bf16Rounding.PREFILL_PROBABILITIES));
    for (int i = 0; i < tokens.length; i++) {
      assertArrayEquals(exact.get(i), rounded.get(i), "position " + i);
    }
  }

  /** Logits of a 40-token prefill, then of decode steps. */
  private static List<float[]> promptThenDecode(Set<Bf16Rounding> roundings) {
    int[] prompt = new Random(5).ints(PROMPT, 0, config.vocabSize()).toArray();
    List<float[]> rows = new ArrayList<>();
    try (CpuBackend backend = backend(roundings)) {
      int slot = backend.kvCache().acquireSlot();
      backend.kvCache().ensureCapacity(slot, PROMPT + DECODE_STEPS);
      rows.add(backend.forward(new ForwardBatch(List.of(new Chunk(slot, 0, prompt, true))))[0]);
      // Decode inputs are fixed ids, not argmaxes, so every variant sees the same tokens.
      for (int step = 0; step < DECODE_STEPS; step++) {
        int[] token = {prompt[step]};
        rows.add(backend.forward(new ForwardBatch(List.of(new Chunk(slot, PROMPT + step, token, true))))[0]);
      }
    }
    return rows;
  }

  private static List<float[]> oneByOne(int[] tokens, Set<Bf16Rounding> roundings) {
    List<float[]> rows = new ArrayList<>();
    try (CpuBackend backend = backend(roundings)) {
      int slot = backend.kvCache().acquireSlot();
      backend.kvCache().ensureCapacity(slot, tokens.length);
      for (int i = 0; i < tokens.length; i++) {
        rows.add(backend.forward(new ForwardBatch(List.of(new Chunk(slot, i, new int[] {tokens[i]}, true))))[0]);
      }
    }
    return rows;
  }

  private static CpuBackend backend(Set<Bf16Rounding> roundings) {
    return new CpuBackend(config, weights, new CpuKvCache(config, 1, 64, 16), 2, roundings);
  }

  private static double meanRelativeError(List<float[]> expected, List<float[]> actual) {
    double sum = 0;
    for (int r = 0; r < expected.size(); r++) {
      double diff = 0;
      double ref = 0;
      for (int i = 0; i < expected.get(r).length; i++) {
        double d = (double) actual.get(r)[i] - expected.get(r)[i];
        diff += d * d;
        ref += (double) expected.get(r)[i] * expected.get(r)[i];
      }
      sum += Math.sqrt(diff / ref);
    }
    return sum / expected.size();
  }
}
