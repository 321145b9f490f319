package org.sparkllm.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import org.sparkllm.checkpoint.CheckpointWriter;
import org.sparkllm.checkpoint.ModelShape;
import org.sparkllm.engine.Engine;
import org.sparkllm.engine.EngineOptions;
import org.sparkllm.engine.EngineStats;
import org.sparkllm.engine.GenerationRequest;
import org.sparkllm.engine.GenerationResult;
import org.sparkllm.engine.SamplingParams;

/**
 * Completes prompts from the command line on the CPU backend, all submitted at once so they share
 * the engine's batches. Without {@code --model} it generates the tiny random-weight model under
 * {@code models/} first.
 *
 * <pre>
 * Generate [--model DIR] [--max-tokens N] [--temperature T] [--seed S] [--chat] [PROMPT ...]
 * </pre>
 */
public final class Generate {
  private static final List<String> DEFAULT_PROMPTS =
      List.of(
          "The quick brown fox",
          "Write a haiku about Spark executors.",
          "Translate to German: good morning",
          "Liste trois fleuves d'Europe :",
          "用一句话介绍大型语言模型。",
          "Count: one, two, three,",
          "🌊 The sea is",
          "def fibonacci(n):");

  private Generate() {}

  public static void main(String[] args) throws Exception {
    Path model = null;
    int maxTokens = 32;
    double temperature = 0;
    long seed = 0;
    boolean chat = false;
    List<String> prompts = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--model" -> model = Path.of(args[++i]);
        case "--max-tokens" -> maxTokens = Integer.parseInt(args[++i]);
        case "--temperature" -> temperature = Double.parseDouble(args[++i]);
        case "--seed" -> seed = Long.parseLong(args[++i]);
        case "--chat" -> chat = true;
        default -> {
          if (args[i].startsWith("--")) {
            throw new IllegalArgumentException(
                "unknown option " + args[i] + "; valid: --model, --max-tokens, --temperature, --seed, --chat");
          }
          prompts.add(args[i]);
        }
      }
    }
    if (model == null) {
      model = CheckpointWriter.ensure(ModelShape.TINY, Path.of("models"));
      System.out.println("model: generated tiny random-weight checkpoint at " + model);
    }
    if (prompts.isEmpty()) {
      prompts = DEFAULT_PROMPTS;
    }
    SamplingParams sampling =
        temperature == 0 ? SamplingParams.greedy() : new SamplingParams(temperature, 0, 1, 0, seed);
    try (Engine engine = Engine.open(model, EngineOptions.defaults())) {
      long start = System.nanoTime();
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (String prompt : prompts) {
        GenerationRequest request =
            GenerationRequest.prompt(prompt).withMaxTokens(maxTokens).withSampling(sampling);
        futures.add(engine.submit(chat ? request.withChat(null) : request));
      }
      for (int i = 0; i < prompts.size(); i++) {
        GenerationResult r = futures.get(i).get();
        System.out.printf(
            Locale.ROOT,
            "%n> %s%n%s%n[%s, %d prompt + %d completion tokens, first token %.1f ms]%n",
            prompts.get(i),
            r.text(),
            r.finishReason().label(),
            r.promptTokens(),
            r.completionTokens(),
            r.timeToFirstTokenNanos() / 1e6);
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      EngineStats stats = engine.stats();
      System.out.printf(
          Locale.ROOT,
          "%n%d prompts on the %s backend: %d prompt + %d generated tokens in %.2f s, %.1f generated tokens/s%n",
          prompts.size(),
          engine.backend().name(),
          stats.promptTokens(),
          stats.generatedTokens(),
          seconds,
          stats.generatedTokens() / seconds);
    }
  }
}
