package org.sparkllm.kvcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The whole cache against the rule-enforcing fake driver. */
class VAttentionKvCacheTest {
  static final KvCacheShape SHAPE = PageSetPolicyTest.SHAPE; // 256 tokens per page-set, 4 tensors
  static final KvCacheOptions SYNC = new KvCacheOptions(1.0, 256, 0, false);

  private final FakeVirtualMemoryDriver driver = new FakeVirtualMemoryDriver(4096, 64L << 20);

  private VAttentionKvCache cache(int pageSets, KvCacheOptions options) {
    return new VAttentionKvCache(SHAPE, pageSets, options, driver, driver::nanoTime);
  }

  /** Writes one byte per token (its first) in every tensor, derived from slot, position and tensor. */
  private static void writeTokens(FakeVirtualMemoryDriver driver, VAttentionKvCache cache, int slot, int from,
      int to, int seed) {
    for (int t = 0; t < SHAPE.tensors(); t++) {
      for (int p = from; p < to; p++) {
        driver.write(address(cache, t, slot, p), (byte) (seed + 31 * t + 7 * p));
      }
    }
  }

  private static void assertTokens(FakeVirtualMemoryDriver driver, VAttentionKvCache cache, int slot, int to,
      int seed) {
    for (int t = 0; t < SHAPE.tensors(); t++) {
      for (int p = 0; p < to; p++) {
        assertEquals((byte) (seed + 31 * t + 7 * p), driver.read(address(cache, t, slot, p)),
            "tensor " + t + " slot " + slot + " position " + p);
      }
    }
  }

  private static long address(VAttentionKvCache cache, int tensor, int slot, int position) {
    return cache.tensorAddress(tensor) + slot * cache.slotStrideBytes() + position * SHAPE.tokenBytes();
  }

  @Test
  void dataWrittenThroughVirtualTensorsSurvivesGrowthAcrossPages() {
    try (VAttentionKvCache cache = cache(8, SYNC)) {
      int slot = cache.acquireSlot();
      int length = 0;
      for (int step = 0; step < 7; step++) {
        int next = length + 100;
        assertTrue(cache.ensureCapacity(slot, next));
        cache.awaitMapped();
        writeTokens(driver, cache, slot, length, next, 3);
        length = next;
      }
      assertTokens(driver, cache, slot, length, 3);
      assertEquals(3, cache.mappedPageSets(slot));
    }
  }

  @Test
  void reusingAFreedSlotCallsNoDriver() {
    try (VAttentionKvCache cache = cache(8, SYNC)) {
      int slot = cache.acquireSlot(600);
      cache.ensureCapacity(slot, 600);
      cache.awaitMapped();
      cache.releaseSlot(slot);
      int before = driver.mappingCalls();
      int again = cache.acquireSlot(500);
      assertEquals(slot, again);
      cache.ensureCapacity(again, 500);
      cache.awaitMapped();
      assertEquals(before, driver.mappingCalls());
      assertEquals(1, cache.metrics().reusedSlots());
      writeTokens(driver, cache, again, 0, 500, 9);
      assertTokens(driver, cache, again, 500, 9);
    }
  }

  @Test
  void reclaimsFromIdleSlotsWhenThePoolRunsDryAndKeepsOtherData() {
    try (VAttentionKvCache cache = cache(4, SYNC)) {
      int a = cache.acquireSlot();
      cache.ensureCapacity(a, 1024);
      cache.awaitMapped();
      writeTokens(driver, cache, a, 0, 1024, 1);
      cache.releaseSlot(a);
      int b = cache.acquireSlot();
      int c = cache.acquireSlot(); // a's slot is taken by b (best fit among mapped), c is empty
      assertEquals(a, b);
      cache.ensureCapacity(b, 256);
      assertTrue(cache.ensureCapacity(c, 768));
      int unmapsBefore = driver.unmapCalls;
      cache.awaitMapped();
      assertEquals(3 * SHAPE.tensors(), driver.unmapCalls - unmapsBefore, "three page-sets moved from b to c");
      writeTokens(driver, cache, b, 0, 256, 5);
      writeTokens(driver, cache, c, 0, 768, 6);
      assertTokens(driver, cache, b, 256, 5);
      assertTokens(driver, cache, c, 768, 6);
      assertThrows(IllegalStateException.class, () -> driver.read(address(cache, 0, b, 256)),
          "b's reclaimed page is unmapped: a kernel touching it would fault");
    }
  }

  @Test
  void synchronousMappingBlocksEveryStepThatCrossesAPageAndTimesIt() {
    try (VAttentionKvCache cache = cache(8, SYNC)) {
      int slot = cache.acquireSlot();
      for (int tokens = 1; tokens <= 512; tokens++) {
        cache.ensureCapacity(slot, tokens);
        cache.awaitMapped();
      }
      KvCacheMetrics m = cache.metrics();
      assertEquals(512, m.steps());
      assertEquals(2, m.blockedSteps(), "tokens 1 and 257 start a page-set");
      long perPageSet = SHAPE.tensors() * (FakeVirtualMemoryDriver.MAP_NANOS + FakeVirtualMemoryDriver.SET_ACCESS_NANOS);
      assertEquals(2 * perPageSet, m.blockedNanos());
      assertEquals(perPageSet, m.maxBlockedNanos());
      assertEquals(2, m.lookaheadMisses());
      assertEquals(2, m.stepActions());
    }
  }

  @Test
  void mappingAheadMeansStepsDoNotBlock() {
    try (VAttentionKvCache cache = cache(8, new KvCacheOptions(1.0, 16, 1, false))) {
      int slot = cache.acquireSlot();
      for (int tokens = 1; tokens <= 600; tokens++) {
        cache.ensureCapacity(slot, tokens);
        cache.awaitMapped();
        cache.mapAheadNow(); // what the background thread does between steps
      }
      KvCacheMetrics m = cache.metrics();
      assertEquals(1, m.blockedSteps(), "only the very first token, before anything ran ahead");
      assertEquals(2, m.lookaheadHits());
      assertEquals(3 + 1, m.mappedPageSets(), "600 tokens + 16 ahead = 3 page-sets, plus one spare slot");
      assertEquals(1, cache.mappedPageSets(1), "the spare");
    }
  }

  @Test
  void backgroundThreadMapsAheadOnItsOwn() throws Exception {
    try (VAttentionKvCache cache = cache(8, new KvCacheOptions(1.0, 300, 0, true))) {
      int slot = cache.acquireSlot();
      cache.ensureCapacity(slot, 10);
      cache.awaitMapped();
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (cache.mappedPageSets(slot) < 2 && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
      assertEquals(2, cache.mappedPageSets(slot), "10 + 300 tokens need 2 page-sets");
      cache.ensureCapacity(slot, 300);
      assertEquals(0, cache.awaitMapped());
      assertTrue(cache.metrics().backgroundActions() >= 1);
    }
    assertEquals(0, driver.liveHandles() + driver.liveMappings() + driver.liveReservations());
  }

  @Test
  void closeUnmapsAndReleasesEverything() {
    VAttentionKvCache cache = cache(6, new KvCacheOptions(1.0, 100, 2, false));
    int a = cache.acquireSlot();
    int b = cache.acquireSlot();
    cache.ensureCapacity(a, 700);
    cache.ensureCapacity(b, 30);
    cache.awaitMapped();
    cache.mapAheadNow();
    cache.releaseSlot(a);
    assertTrue(driver.liveMappings() > 0);
    cache.close();
    assertEquals(0, driver.liveMappings());
    assertEquals(0, driver.liveHandles());
    assertEquals(0, driver.liveReservations());
    assertEquals(driver.createCalls, driver.releaseCalls);
    assertEquals(driver.mapCalls, driver.unmapCalls);
    assertEquals(driver.mapCalls, driver.setAccessCalls);
    assertEquals(64L << 20, driver.freeMemoryBytes(), "free memory back to its starting value");
    assertThrows(IllegalStateException.class, cache::acquireSlot);
  }

  @Test
  void poolIsSizedFromAFractionOfFreeMemoryAndCappedByTheSlots() {
    long pageSetBytes = SHAPE.pageSetBytes(); // 16 KiB
    try (VAttentionKvCache cache = VAttentionKvCache.create(SHAPE, SYNC.withMemoryFraction(0.5),
        new FakeVirtualMemoryDriver(4096, 10 * pageSetBytes))) {
      assertEquals(5, cache.totalPages());
      assertEquals(5 * 256, cache.freeCapacityTokens());
    }
    try (VAttentionKvCache cache = VAttentionKvCache.create(SHAPE, SYNC, new FakeVirtualMemoryDriver(4096, 1L << 30))) {
      assertEquals(SHAPE.maxSlots() * SHAPE.pageSetsPerSlot(), cache.totalPages());
    }
  }

  /** Memory reserved for what is allocated after the cache (the megakernel's tiled weights) stays free. */
  @Test
  void theReserveComesOffTheFreeMemoryBeforeTheFraction() {
    long pageSetBytes = SHAPE.pageSetBytes();
    KvCacheOptions reserving = SYNC.withMemoryFraction(0.5).withReservedBytes(4 * pageSetBytes);
    try (VAttentionKvCache cache = VAttentionKvCache.create(SHAPE, reserving,
        new FakeVirtualMemoryDriver(4096, 10 * pageSetBytes))) {
      assertEquals(3, cache.totalPages()); // (10 - 4) / 2
    }
    assertEquals(0, reserving.withReservedBytes(11 * pageSetBytes).budget(10 * pageSetBytes));
    assertThrows(IllegalArgumentException.class, () -> SYNC.withReservedBytes(-1));
  }

  @Test
  void capacityQueryTracksGrantsNotMappings() {
    try (VAttentionKvCache cache = cache(4, SYNC)) {
      assertEquals(1024, cache.freeCapacityTokens());
      int slot = cache.acquireSlot();
      assertTrue(cache.ensureCapacity(slot, 300));
      assertEquals(512, cache.freeCapacityTokens());
      assertEquals(2, cache.freePages());
      assertFalse(cache.ensureCapacity(slot, 1025));
      cache.awaitMapped();
      cache.releaseSlot(slot);
      assertEquals(1024, cache.freeCapacityTokens(), "idle mapped pages count as free: they can be reclaimed");
    }
  }

  @Test
  void aFailingDriverFailsTheStepLoudly() {
    FakeVirtualMemoryDriver tiny = new FakeVirtualMemoryDriver(4096, 64L << 20) {
      @Override
      public void map(long address, long bytes, long handle) {
        throw new IllegalStateException("CUDA_ERROR_OUT_OF_MEMORY");
      }
    };
    VAttentionKvCache cache = new VAttentionKvCache(SHAPE, 2, SYNC, tiny, tiny::nanoTime);
    int slot = cache.acquireSlot();
    cache.ensureCapacity(slot, 1);
    assertThrows(IllegalStateException.class, cache::awaitMapped);
    assertThrows(IllegalStateException.class, () -> cache.ensureCapacity(slot, 2), "the cache stays failed");
  }
}
