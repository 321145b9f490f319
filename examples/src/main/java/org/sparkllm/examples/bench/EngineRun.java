package org.sparkllm.examples.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.sparkllm.engine.Engine;
import org.sparkllm.engine.GenerationResult;
import org.sparkllm.engine.SamplingParams;
import org.sparkllm.model.GenerationConfig;
import org.sparkllm.spark.LlmOptions;

/**
 * The workload on the bare engine, as an application would run it without Spark: one engine opened
 * with the connector's engine options, every prompt submitted at once from one thread, timed from
 * the first submission to the last result.
 */
final class EngineRun {
  private EngineRun() {}

  static Throughput measure(Workload workload, int repeats) {
    LlmOptions timed = workload.options(workload.maxTokens());
    GenerationConfig defaults = GenerationConfig.read(workload.model());
    List<Pass> passes = new ArrayList<>();
    try (Engine engine = Engine.open(workload.model(), timed.engine().engineOptions(), workload.engineDevice())) {
      once(engine, workload.options(workload.warmupTokens()), defaults, workload.prompts()); // graphs, JIT
      for (int i = 0; i < repeats; i++) {
        passes.add(once(engine, timed, defaults, workload.prompts()));
      }
    }
    return new Throughput("engine", passes);
  }

  private static Pass once(Engine engine, LlmOptions options, GenerationConfig defaults, List<String> prompts) {
    SamplingParams sampling = options.sampling(defaults);
    long start = System.nanoTime();
    List<CompletableFuture<GenerationResult>> futures = new ArrayList<>(prompts.size());
    for (String prompt : prompts) {
      futures.add(engine.submit(options.request(prompt, sampling)));
    }
    long promptTokens = 0;
    long outputTokens = 0;
    for (CompletableFuture<GenerationResult> f : futures) {
      GenerationResult r = f.join();
      promptTokens += r.promptTokens();
      outputTokens += r.completionTokens();
    }
    return new Pass(futures.size(), promptTokens, outputTokens, (System.nanoTime() - start) / 1e9);
  }
}
