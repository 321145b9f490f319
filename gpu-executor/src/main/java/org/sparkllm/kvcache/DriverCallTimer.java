package org.sparkllm.kvcache;

import org.sparkllm.cuda.CudaVmm;

/** Measures cuMemMap and cuMemSetAccess per page, one page per call as the cache issues them. */
public final class DriverCallTimer {

  /** Microseconds per page. */
  public record PerPageMicros(double map, double setAccess, double unmap) {}

  private DriverCallTimer() {}

  public static PerPageMicros measure(CudaVmm vmm, int pages) {
    long page = vmm.granularity();
    long[] handles = new long[pages];
    long base = vmm.reserve(pages * page, page);
    try {
      for (int i = 0; i < pages; i++) {
        handles[i] = vmm.create(page);
      }
      long t0 = System.nanoTime();
      for (int i = 0; i < pages; i++) {
        vmm.map(base + i * page, page, handles[i]);
      }
      long t1 = System.nanoTime();
      for (int i = 0; i < pages; i++) {
        vmm.setReadWrite(base + i * page, page);
      }
      long t2 = System.nanoTime();
      for (int i = 0; i < pages; i++) {
        vmm.unmap(base + i * page, page);
      }
      long t3 = System.nanoTime();
      return new PerPageMicros((t1 - t0) / 1e3 / pages, (t2 - t1) / 1e3 / pages, (t3 - t2) / 1e3 / pages);
    } finally {
      for (long handle : handles) {
        if (handle != 0) {
          vmm.release(handle);
        }
      }
      vmm.free(base, pages * page);
    }
  }
}
