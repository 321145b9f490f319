package org.sparkllm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.sparkllm.backend.cpu.CpuKvCache;
import org.sparkllm.model.LlamaConfig;

class SchedulerTest {
  static final LlamaConfig CONFIG =
      new LlamaConfig(16, 1, 2, 1, 8, 32, 50, 4096, 1e-5, 10000, null, true, 0, new int[] {1});

  @Test
  void longPromptIsPrefilledInChunksWithinTheTokenBudget() {
    Scheduler scheduler = new Scheduler(new CpuKvCache(CONFIG, 4, 1024, 16), 64);
    Sequence s = sequence(150);
    scheduler.add(s);
    int[] chunks = new int[3];
    for (int step = 0; step < 3; step++) {
      List<Scheduler.Scheduled> plan = scheduler.schedule();
      assertEquals(1, plan.size());
      chunks[step] = plan.get(0).tokens();
      assertEquals(step == 2, plan.get(0).completesSequence());
      s.computed += plan.get(0).tokens();
    }
    assertEquals(List.of(64, 64, 22), List.of(chunks[0], chunks[1], chunks[2]));
  }

  @Test
  void decodeRunsBeforeNewPrefillAndSharesTheStep() {
    Scheduler scheduler = new Scheduler(new CpuKvCache(CONFIG, 4, 1024, 16), 32);
    Sequence decoding = sequence(10);
    scheduler.add(decoding);
    runStep(scheduler); // prefill, then one generated token: now decoding
    Sequence fresh = sequence(100);
    scheduler.add(fresh);
    List<Scheduler.Scheduled> plan = scheduler.schedule();
    assertEquals(decoding, plan.get(0).sequence());
    assertEquals(1, plan.get(0).tokens());
    assertEquals(fresh, plan.get(1).sequence());
    assertEquals(31, plan.get(1).tokens());
  }

  @Test
  void admissionWaitsForPagesAndSlots() {
    Scheduler scheduler = new Scheduler(new CpuKvCache(CONFIG, 2, 64, 16), 512);
    Sequence a = sequence(40); // 3 pages of 4
    Sequence b = sequence(30); // 2 more pages: does not fit yet
    scheduler.add(a);
    scheduler.add(b);
    List<Scheduler.Scheduled> plan = scheduler.schedule();
    assertEquals(1, plan.size());
    assertEquals(a, plan.get(0).sequence());
    assertEquals(1, scheduler.waitingCount());
  }

  @Test
  void growthBeyondCapacityPreemptsTheNewestAndRecomputesItLater() {
    CpuKvCache cache = new CpuKvCache(CONFIG, 4, 80, 16); // 5 pages
    Scheduler scheduler = new Scheduler(cache, 512);
    Sequence older = sequence(32);
    Sequence newer = sequence(32);
    scheduler.add(older);
    scheduler.add(newer);
    runStep(scheduler); // both prefilled into 2 pages each; 33 tokens each after sampling
    assertEquals(1, cache.freePages());
    // older takes the last page for its 33rd token; newer cannot grow and is evicted
    List<Scheduler.Scheduled> plan = scheduler.schedule();
    assertEquals(1, plan.size());
    assertEquals(older, plan.get(0).sequence());
    assertEquals(1, scheduler.preemptions());
    assertEquals(1, newer.preemptions);
    assertEquals(0, newer.computed);
    assertEquals(-1, newer.slot);
    assertEquals(33, newer.pending(), "recompute covers prompt and generated tokens");
    assertTrue(scheduler.all().contains(newer));
  }

  @Test
  void aSequenceAloneThatCannotGrowPreemptsItself() {
    CpuKvCache cache = new CpuKvCache(CONFIG, 4, 32, 16); // 2 pages
    Scheduler scheduler = new Scheduler(cache, 512);
    Sequence s = sequence(31);
    scheduler.add(s);
    runStep(scheduler);
    s.appendWithoutText(2); // 33 tokens: would need a third page
    s.computed = 32;
    assertTrue(scheduler.schedule().isEmpty());
    assertEquals(1, s.preemptions);
  }

  /** Schedules one step and plays the engine: marks tokens computed and appends one to finished prefills. */
  private static void runStep(Scheduler scheduler) {
    for (Scheduler.Scheduled s : scheduler.schedule()) {
      s.sequence().computed += s.tokens();
      if (s.completesSequence()) {
        s.sequence().appendWithoutText(3);
      }
    }
  }

  private static Sequence sequence(int promptLength) {
    return new Sequence(
        GenerationRequest.tokens(new int[] {0}),
        SamplingParams.greedy(),
        new int[promptLength],
        null,
        new CompletableFuture<>());
  }
}
