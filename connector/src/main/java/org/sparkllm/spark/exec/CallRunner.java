package org.sparkllm.spark.exec;

import java.util.concurrent.CompletableFuture;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.sparkllm.engine.GenerationResult;
import org.sparkllm.engine.InvalidRequestException;
import org.sparkllm.engine.SamplingParams;
import org.sparkllm.spark.LlmOptions;
import org.sparkllm.spark.engine.EngineRegistry;
import org.sparkllm.spark.expressions.LlmGenerate;
import org.sparkllm.spark.util.ScalaSeqs;
import scala.collection.immutable.Seq;

/** One llm_generate call inside a task: its prompt projection, options and engine. */
final class CallRunner {
  final LlmOptions options;
  final UnsafeProjection promptProjection;
  private final EngineRegistry.LoadedEngine engine;
  private final SamplingParams sampling;

  CallRunner(LlmGenerate call, Seq<Attribute> input, EngineRegistry.LoadedEngine engine) {
    this.options = call.options();
    this.promptProjection = UnsafeProjection.create(ScalaSeqs.seq(call.prompt()), input);
    this.engine = engine;
    this.sampling = options.sampling(engine.generationDefaults());
  }

  CompletableFuture<GenerationResult> submit(String prompt) {
    try {
      return engine.engine().submit(options.request(prompt, sampling));
    } catch (InvalidRequestException e) {
      return CompletableFuture.failedFuture(e);
    }
  }
}
