package org.sparkllm.bench.gpu;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.sparkllm.engine.Engine;
import org.sparkllm.engine.EngineStats;
import org.sparkllm.engine.GenerationRequest;
import org.sparkllm.engine.GenerationResult;
import org.sparkllm.engine.SamplingParams;

/**
 * The offline workload: every prompt (random token ids) submitted at once, greedy, a fixed output
 * length (end-of-sequence ignored), wall time from the first submit to the last completion. Staggered, each
 * request's output length is drawn from 1 to {@code 2 * outputLen - 1} instead (the same mean), so sequences
 * finish, and waiting ones are admitted, at nearly every step rather than in waves.
 */
final class OfflineThroughput {
  /**
   * @param steps engine steps the workload took
   * @param hostMsPerStep engine-thread time per step outside the backend (scheduling, appending tokens): the
   *     device idles through it
   */
  record Result(int prompts, int inputLen, int outputLen, double seconds, double outputTokensPerSecond,
      double totalTokensPerSecond, long steps, double msPerStep, double hostMsPerStep) {}

  private OfflineThroughput() {}

  static Result measure(Engine engine, int prompts, int inputLen, int outputLen, long seed) {
    return measure(engine, prompts, inputLen, outputLen, seed, false);
  }

  static Result measure(Engine engine, int prompts, int inputLen, int outputLen, long seed, boolean staggered) {
    Random random = new Random(seed);
    int vocab = engine.backend().config().vocabSize();
    List<GenerationRequest> requests = new ArrayList<>(prompts);
    long expected = 0;
    for (int i = 0; i < prompts; i++) {
      int length = staggered ? 1 + random.nextInt(2 * outputLen - 1) : outputLen;
      expected += length;
      requests.add(GenerationRequest.tokens(random.ints(inputLen, 0, vocab).toArray())
          .withMaxTokens(length).withSampling(SamplingParams.greedy()).withIgnoreEos(true));
    }
    EngineStats before = engine.stats();
    long start = System.nanoTime();
    List<CompletableFuture<GenerationResult>> futures = new ArrayList<>(prompts);
    for (GenerationRequest r : requests) {
      futures.add(engine.submit(r));
    }
    long generated = 0;
    for (CompletableFuture<GenerationResult> f : futures) {
      generated += f.join().completionTokens();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    if (generated != expected) {
      throw new IllegalStateException("generated " + generated + " tokens, expected " + expected);
    }
    EngineStats after = engine.stats();
    long steps = after.steps() - before.steps();
    double busyMs = (after.busyNanos() - before.busyNanos()) / 1e6;
    double hostMs = busyMs - (after.backendNanos() - before.backendNanos()) / 1e6;
    return new Result(prompts, inputLen, outputLen, seconds, generated / seconds,
        (generated + (long) prompts * inputLen) / seconds, steps, busyMs / steps, hostMs / steps);
  }
}
