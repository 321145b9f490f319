package org.sparkllm.kvcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The trace at the Llama-3.2-1B shape (2048-token page-sets) on the fake driver: waste of vAttention vs
 * a 16-token block table is a property of the policy alone, and mapping ahead removes blocked steps.
 */
class TraceRunTest {
  /** 8-token pages, small enough for the fake's byte arrays. */
  private static final KvCacheShape SMALL_PAGES = new KvCacheShape(2, 1, 64, 2, 32, 4096, 1024);

  @Test
  void wasteOfTwoMiBPagesVersusSixteenTokenBlocks() {
    // 2048 tokens per page as Llama-3.2-1B with 2 MiB pages, with one tiny layer to keep the fake small.
    KvCacheShape llama = new KvCacheShape(1, 1, 8, 2, 32, 4096, 32 << 10);
    FakeVirtualMemoryDriver driver = new FakeVirtualMemoryDriver(32 << 10, 1L << 30);
    try (VAttentionKvCache cache = new VAttentionKvCache(llama, 64, KvCacheOptions.defaults().withBackgroundMapping(false),
        driver, driver::nanoTime)) {
      TraceResult r = TraceRun.run(cache, new DecodeTrace(1, 32, 4096, 4), 400, (n, s, a, b) -> cache.mapAheadNow());
      assertEquals(400, r.steps());
      assertTrue(r.wastePct() > 20, "2048-token pages waste a lot on short sequences: " + r.wastePct());
      assertTrue(r.wastePctPaged16() < 1, "16-token blocks waste under 1%: " + r.wastePctPaged16());
      assertEquals(0, r.preempted());
    }
  }

  @Test
  void mappingAheadBetweenStepsRemovesMostBlocking() {
    FakeVirtualMemoryDriver syncDriver = new FakeVirtualMemoryDriver(1024, 1L << 30);
    FakeVirtualMemoryDriver aheadDriver = new FakeVirtualMemoryDriver(1024, 1L << 30);
    KvCacheOptions options = new KvCacheOptions(1.0, 16, 2, false);
    TraceResult sync;
    TraceResult ahead;
    try (VAttentionKvCache cache = new VAttentionKvCache(SMALL_PAGES, 32 * 512, options, syncDriver, syncDriver::nanoTime)) {
      sync = TraceRun.run(cache, new DecodeTrace(7, 32, 4096, 4), 300, (n, s, a, b) -> { });
    }
    try (VAttentionKvCache cache = new VAttentionKvCache(SMALL_PAGES, 32 * 512, options, aheadDriver,
        aheadDriver::nanoTime)) {
      ahead = TraceRun.run(cache, new DecodeTrace(7, 32, 4096, 4), 300, (n, s, a, b) -> cache.mapAheadNow());
    }
    assertEquals(1.0, sync.blockedStepFraction(), 0.01, "8-token pages: every step crosses some page");
    assertTrue(ahead.blockedStepFraction() < 0.1, "ahead: " + ahead.blockedStepFraction());
    assertTrue(ahead.p99AddedMicros() < sync.p99AddedMicros());
    assertEquals(sync.wastePct(), ahead.wastePct(), 1e-9, "the same trace");
    assertEquals(0, syncDriver.liveHandles() + aheadDriver.liveHandles());
  }
}
