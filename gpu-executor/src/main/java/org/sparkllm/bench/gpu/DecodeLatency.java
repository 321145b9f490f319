package org.sparkllm.bench.gpu;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.Sampling;
import org.sparkllm.backend.Backend;

/**
 * Decode step time at a batch size: {@code batch} sequences prefilled to {@code context} tokens, then
 * greedy decode steps at positions {@code context} onwards (the warm-up steps write the same positions first),
 * timed one by one on the host clock (what the engine waits for: input upload,
 * graph replay, sampled ids back), median over the timed steps; the timed steps' wall time over their count
 * (the rate a caller gets: it counts the host's work between steps too, which a step launched ahead overlaps,
 * so the median of single calls can lie below it); and, where the backend says how long its last step's kernel
 * ran on the GPU ({@code deviceMicros}), the median of that too.
 */
final class DecodeLatency {
  /**
   * Warm-up steps that lead into the timed ones: at positions context - 32 .. context - 1 (over prompt tokens,
   * which only changes their values), so the timed steps go on from the step before them from the first one
   * on, and a backend that launches steps ahead after a streak of such steps (the megakernel: 16) is in its
   * steady state when timing starts.
   */
  private static final int LEAD_IN = 32;

  /** {@code medianDeviceMicros}: NaN without a {@code deviceMicros} source. */
  record Result(int batch, int context, double medianMicros, double p90Micros, double wallMicrosPerStep,
      double medianDeviceMicros) {}

  private DecodeLatency() {}

  static Result measure(Backend backend, int batch, int context, int warmup, int steps, long seed) {
    return measure(backend, batch, context, warmup, steps, seed, null);
  }

  static Result measure(Backend backend, int batch, int context, int warmup, int steps, long seed,
      DoubleSupplier deviceMicros) {
    Random random = new Random(seed);
    int vocab = backend.config().vocabSize();
    int[] slots = new int[batch];
    for (int b = 0; b < batch; b++) {
      slots[b] = backend.kvCache().acquireSlot();
      if (slots[b] < 0 || !backend.kvCache().ensureCapacity(slots[b], context + steps + 1)) {
        throw new IllegalStateException("the KV cache cannot hold " + batch + " sequences of "
            + (context + steps + 1) + " tokens");
      }
      int[] prompt = random.ints(context, 0, vocab).toArray();
      backend.forwardAndSample(new ForwardBatch(List.of(new ForwardBatch.Chunk(slots[b], 0, prompt, true))),
          List.of(Sampling.greedy()));
    }
    int[] next = random.ints(batch, 0, vocab).toArray();
    List<Sampling> greedy = new ArrayList<>();
    for (int b = 0; b < batch; b++) {
      greedy.add(Sampling.greedy());
    }
    double[] micros = new double[steps];
    double[] device = new double[steps];
    long timedStart = 0;
    int leadIn = Math.min(LEAD_IN, Math.min(warmup, context));
    for (int s = 0; s < warmup + steps; s++) {
      // Warm-up steps write positions that the timed steps write again, so however long the warm-up, the
      // timed steps see contexts context + 1 .. context + steps; its last steps lead into them (LEAD_IN).
      int position = s >= warmup ? context + s - warmup
          : s >= warmup - leadIn ? context - (warmup - s)
          : context + s % steps;
      List<ForwardBatch.Chunk> chunks = new ArrayList<>(batch);
      for (int b = 0; b < batch; b++) {
        chunks.add(new ForwardBatch.Chunk(slots[b], position, new int[] {next[b]}, true));
      }
      long start = System.nanoTime();
      if (s == warmup) {
        timedStart = start;
      }
      next = backend.forwardAndSample(new ForwardBatch(chunks), greedy);
      long elapsed = System.nanoTime() - start;
      if (s >= warmup) {
        micros[s - warmup] = elapsed / 1e3;
        device[s - warmup] = deviceMicros == null ? Double.NaN : deviceMicros.getAsDouble();
      }
    }
    double wallPerStep = (System.nanoTime() - timedStart) / 1e3 / steps;
    for (int slot : slots) {
      backend.kvCache().releaseSlot(slot);
    }
    Arrays.sort(micros);
    Arrays.sort(device);
    return new Result(batch, context, micros[steps / 2], micros[(int) (steps * 0.9)], wallPerStep,
        device[steps / 2]);
  }
}
