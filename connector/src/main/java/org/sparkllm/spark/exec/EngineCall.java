package org.sparkllm.spark.exec;

import java.util.concurrent.CompletableFuture;
import org.sparkllm.engine.GenerationResult;
import org.sparkllm.engine.InvalidRequestException;
import org.sparkllm.engine.SamplingParams;
import org.sparkllm.spark.LlmOptions;
import org.sparkllm.spark.engine.EngineRegistry;

/**
 * One set of resolved options bound to the task's engine: turns a prompt into a request. Shared by
 * llm_generate's operator (one per call) and the llm data source (one per scan).
 */
public final class EngineCall {
  private final LlmOptions options;
  private final EngineRegistry.LoadedEngine engine;
  private final SamplingParams sampling;

  public EngineCall(LlmOptions options, EngineRegistry.LoadedEngine engine) {
    this.options = options;
    this.engine = engine;
    this.sampling = options.sampling(engine.generationDefaults());
  }

  public LlmOptions options() {
    return options;
  }

  /** Never throws for a bad request: it comes back as a failed future, handled per row. */
  CompletableFuture<GenerationResult> submit(String prompt) {
    try {
      return engine.engine().submit(options.request(prompt, sampling));
    } catch (InvalidRequestException e) {
      return CompletableFuture.failedFuture(e);
    }
  }
}
