package org.sparkllm.bench.gpu;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.Sampling;
import org.sparkllm.backend.cuda.CudaBackend;

/** One prompt of {@code tokens} tokens prefilled in one chunk (to its first sampled token), median time. */
final class PrefillRate {
  record Result(int tokens, double medianMillis, double tokensPerSecond, double tflops) {}

  private PrefillRate() {}

  static Result measure(CudaBackend backend, int tokens, int warmup, int runs, long seed) {
    int slot = backend.kvCache().acquireSlot();
    if (slot < 0 || !backend.kvCache().ensureCapacity(slot, tokens)) {
      throw new IllegalStateException("the KV cache cannot hold a " + tokens + "-token prompt");
    }
    int[] prompt = new Random(seed).ints(tokens, 0, backend.config().vocabSize()).toArray();
    ForwardBatch batch = new ForwardBatch(List.of(new ForwardBatch.Chunk(slot, 0, prompt, true)));
    double[] millis = new double[runs];
    for (int r = 0; r < warmup + runs; r++) {
      long start = System.nanoTime();
      backend.forwardAndSample(batch, List.of(Sampling.greedy())); // rewrites the same positions
      long elapsed = System.nanoTime() - start;
      if (r >= warmup) {
        millis[r - warmup] = elapsed / 1e6;
      }
    }
    backend.kvCache().releaseSlot(slot);
    Arrays.sort(millis);
    double median = millis[runs / 2];
    double flops = ModelFlops.prefillFlops(backend.config(), tokens);
    return new Result(tokens, median, tokens / (median / 1e3), flops / (median / 1e3) / 1e12);
  }
}
