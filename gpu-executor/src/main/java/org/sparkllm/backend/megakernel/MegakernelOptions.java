package org.sparkllm.backend.megakernel;

/**
 * @param watchdogMillis how long one spin inside the kernel may last before the step fails
 * @param timing record per-instruction timestamps ({@link MegakernelBackend#timings()}); costs a
 *     download per step
 * @param l2PrefetchPages how many 16 KiB weight pages beyond the one being copied into shared memory each
 *     SM's loader asks L2 to fetch ahead: HBM keeps streaming while the page ring is full (0: off)
 */
public record MegakernelOptions(double watchdogMillis, boolean timing, int l2PrefetchPages) {
  /** Default L2 prefetch depth: off, since on an H100 at batch 1 each depth tried (4, 8, 16 pages) was slower. */
  public static final int DEFAULT_L2_PREFETCH_PAGES = 0;

  public MegakernelOptions {
    if (!(watchdogMillis > 0)) {
      throw new IllegalArgumentException("watchdogMillis must be positive, got " + watchdogMillis);
    }
    if (l2PrefetchPages < 0) {
      throw new IllegalArgumentException("l2PrefetchPages must be >= 0, got " + l2PrefetchPages);
    }
  }

  public static MegakernelOptions defaults() {
    return new MegakernelOptions(1000, false, DEFAULT_L2_PREFETCH_PAGES);
  }

  public MegakernelOptions withTiming(boolean on) {
    return new MegakernelOptions(watchdogMillis, on, l2PrefetchPages);
  }

  public MegakernelOptions withWatchdogMillis(double millis) {
    return new MegakernelOptions(millis, timing, l2PrefetchPages);
  }

  public MegakernelOptions withL2PrefetchPages(int pages) {
    return new MegakernelOptions(watchdogMillis, timing, pages);
  }
}
