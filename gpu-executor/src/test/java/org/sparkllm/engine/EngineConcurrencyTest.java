package org.sparkllm.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.sparkllm.TestModels;

/**
 * Many submitters, one engine too small for them all: every request completes exactly once, and with
 * preemption and batching it produces exactly what it produces alone.
 */
class EngineConcurrencyTest {
  static final int THREADS = 8;
  static final int REQUESTS = 200;

  @Test
  void concurrentSubmittersUnderPreemptionGetTheirAloneOutputs() throws Exception {
    Path model = TestModels.tiny();
    List<GenerationRequest> requests = mixedRequests();

    EngineOptions crowded =
        EngineOptions.defaults().withMaxSequences(16).withMaxBatchTokens(96).withKvCacheTokens(512);
    List<GenerationResult> together = new ArrayList<>();
    EngineStats stats;
    try (Engine engine = Engine.open(model, crowded)) {
      ExecutorService submitters = Executors.newFixedThreadPool(THREADS);
      List<Future<List<CompletableFuture<GenerationResult>>>> perThread = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int first = t;
        perThread.add(
            submitters.submit(
                () -> {
                  List<CompletableFuture<GenerationResult>> mine = new ArrayList<>();
                  for (int i = first; i < REQUESTS; i += THREADS) {
                    mine.add(engine.submit(requests.get(i)));
                  }
                  return mine;
                }));
      }
      GenerationResult[] byIndex = new GenerationResult[REQUESTS];
      for (int t = 0; t < THREADS; t++) {
        List<CompletableFuture<GenerationResult>> mine = perThread.get(t).get();
        for (int k = 0; k < mine.size(); k++) {
          byIndex[t + k * THREADS] = mine.get(k).get(5, TimeUnit.MINUTES);
        }
      }
      submitters.shutdown();
      together.addAll(List.of(byIndex));
      stats = engine.stats();
    }
    assertEquals(REQUESTS, stats.requestsCompleted(), "each request completes exactly once");
    assertTrue(stats.preemptions() > 0, "the KV capacity must force preemption; got " + stats);
    assertTrue(together.stream().anyMatch(r -> r.preemptions() > 0));

    try (Engine alone = Engine.open(model, EngineOptions.defaults())) {
      for (int i = 0; i < REQUESTS; i++) {
        GenerationResult expected = alone.submit(requests.get(i)).get(1, TimeUnit.MINUTES);
        GenerationResult actual = together.get(i);
        String what = "request " + i + " " + requests.get(i);
        assertArrayEquals(expected.completionTokenIds(), actual.completionTokenIds(), what);
        assertEquals(expected.text(), actual.text(), what);
        assertEquals(expected.finishReason(), actual.finishReason(), what);
        assertEquals(expected.promptTokens(), actual.promptTokens(), what);
      }
    }
  }

  @Test
  void wideStepsGiveTheAloneOutputs() throws Exception {
    Path model = TestModels.tiny();
    List<GenerationRequest> requests =
        mixedRequests().subList(0, 64).stream().map(r -> r.withMaxTokens(24)).toList();
    EngineOptions wide =
        EngineOptions.defaults().withMaxSequences(64).withMaxBatchTokens(4096).withKvCacheTokens(16384);
    List<CompletableFuture<GenerationResult>> together = new ArrayList<>();
    EngineStats stats;
    try (Engine engine = Engine.open(model, wide)) {
      requests.forEach(r -> together.add(engine.submit(r)));
      CompletableFuture.allOf(together.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
      stats = engine.stats();
    }
    // Steps that append 32 tokens or more hand the appends (detokenization, stop strings) to worker threads.
    assertTrue(stats.generatedTokens() > 32 * stats.steps(), "steps too narrow to append in parallel: " + stats);
    try (Engine alone = Engine.open(model, EngineOptions.defaults())) {
      for (int i = 0; i < requests.size(); i++) {
        GenerationResult expected = alone.submit(requests.get(i)).get(1, TimeUnit.MINUTES);
        GenerationResult actual = together.get(i).get();
        String what = "request " + i + " " + requests.get(i);
        assertArrayEquals(expected.completionTokenIds(), actual.completionTokenIds(), what);
        assertEquals(expected.text(), actual.text(), what);
        assertEquals(expected.finishReason(), actual.finishReason(), what);
      }
    }
  }

  /** Prompts of 3 to ~150 tokens; greedy and seeded sampling with every filter; some stop strings. */
  static List<GenerationRequest> mixedRequests() {
    SplittableRandom random = new SplittableRandom(99);
    String[] words = {"the", "river", "Fluss", "река", "川", "🌊", "runs", "to", "sea", "42", "and", "ünd"};
    List<GenerationRequest> requests = new ArrayList<>();
    for (int i = 0; i < REQUESTS; i++) {
      StringBuilder prompt = new StringBuilder();
      int length = 1 + random.nextInt(i % 10 == 0 ? 60 : 20);
      for (int w = 0; w < length; w++) {
        prompt.append(words[random.nextInt(words.length)]).append(' ');
      }
      SamplingParams sampling =
          switch (i % 4) {
            case 0 -> SamplingParams.greedy();
            case 1 -> new SamplingParams(0.8, 0, 1, 0, i);
            case 2 -> new SamplingParams(1.0, 20, 0.9, 0, 1000 + i);
            default -> new SamplingParams(0.7, 0, 1, 0.05, 7);
          };
      GenerationRequest request =
          GenerationRequest.prompt(prompt.toString())
              .withMaxTokens(4 + random.nextInt(40))
              .withSampling(sampling);
      if (i % 5 == 0) {
        request = request.withStop(List.of("e", "🌊"));
      }
      requests.add(request);
    }
    return requests;
  }
}
