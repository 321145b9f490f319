package org.sparkllm.kvcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaVmm;
import org.sparkllm.cuda.GpuTests;

/** The cache on a real device: kernels write through mapped pages, every handle goes back on close. */
@Tag("gpu")
class VAttentionGpuTest {
  @BeforeEach
  void requireGpu() {
    GpuTests.assumeCudaDevice();
  }

  @Test
  void dataReadsBackExactlyAfterManyMapUnmapAndReuseCycles() {
    try (CudaContext context = CudaContext.openPrimary(0)) {
      long page = new CudaVmm(0).granularity();
      KvCacheShape shape = new KvCacheShape(4, 8, 64, 2, 8, 4 * (int) (page / 1024), page); // 4 pages per slot
      long freeBefore = context.memoryInfo()[0];
      // 10 page-sets for 8 slots of up to 4: reuse and on-demand reclamation happen all the time.
      try (VAttentionKvCache cache = new VAttentionKvCache(shape, 10, KvCacheOptions.defaults(),
          new CudaVirtualMemoryDriver(context), System::nanoTime);
          KvPatternKernels kernels = KvPatternKernels.forCache(context, cache)) {
        Random random = new Random(3);
        int[] lengths = new int[shape.maxSlots()];
        int[] seeds = new int[shape.maxSlots()];
        int[] slotOf = new int[shape.maxSlots()];
        java.util.Arrays.fill(slotOf, -1);
        for (int round = 0; round < 200; round++) {
          int r = random.nextInt(shape.maxSlots());
          if (slotOf[r] >= 0 && random.nextBoolean()) {
            verify(kernels, slotOf[r], lengths[r], seeds[r]);
            cache.releaseSlot(slotOf[r]);
            slotOf[r] = -1;
            continue;
          }
          if (slotOf[r] < 0) {
            int slot = cache.acquireSlot(1);
            if (slot < 0) {
              continue;
            }
            slotOf[r] = slot;
            lengths[r] = 0;
            seeds[r] = round + 1;
          }
          int grow = 1 + random.nextInt(shape.pageTokens() * 2);
          int target = Math.min(shape.maxContext(), lengths[r] + grow);
          if (!cache.ensureCapacity(slotOf[r], target)) {
            continue;
          }
          cache.awaitMapped();
          kernels.fill(1, new int[] {slotOf[r]}, new int[] {lengths[r]}, new int[] {target}, seeds[r]);
          lengths[r] = target;
          for (int other = 0; other < slotOf.length; other++) {
            if (slotOf[other] >= 0) {
              verify(kernels, slotOf[other], lengths[other], seeds[other]);
            }
          }
        }
        KvCacheMetrics m = cache.metrics();
        assertTrue(m.reusedSlots() > 0, "slots were reused");
        assertTrue(m.stepActions() + m.backgroundActions() > 20, "pages were mapped and unmapped many times");
      }
      long freeAfter = context.memoryInfo()[0];
      assertEquals(freeBefore, freeAfter, 4L << 20, "every physical page released on close");
    }
  }

  private static void verify(KvPatternKernels kernels, int slot, int length, int seed) {
    assertEquals(0, kernels.countMismatches(1, new int[] {slot}, new int[] {0}, new int[] {length}, seed),
        "slot " + slot + " lost data");
  }

  @Test
  void mapAndSetAccessCostPerPage() {
    try (CudaContext context = CudaContext.openPrimary(0)) {
      DriverCallTimer.PerPageMicros micros = DriverCallTimer.measure(new CudaVmm(0), 64);
      System.out.printf("cuMemMap %.2f us, cuMemSetAccess %.2f us, cuMemUnmap %.2f us per page%n", micros.map(),
          micros.setAccess(), micros.unmap());
      assertTrue(micros.map() > 0 && micros.setAccess() > 0);
    }
  }
}
