package org.sparkllm.backend.megakernel;

/**
 * @param watchdogMillis how long one spin inside the kernel may last before the step fails
 * @param timing record per-instruction timestamps ({@link MegakernelBackend#timings()}); costs a
 *     download per step
 * @param l2PrefetchPages how many 16 KiB weight pages ahead each SM's loader asks L2 for while the
 *     consumers hold every page of its ring, so HBM keeps streaming then (0: off)
 * @param maxRows the most decode rows a step may have to run on the megakernel (1 to
 *     {@link #MAX_ROWS}); larger steps run on the CUDA-graph path
 */
public record MegakernelOptions(double watchdogMillis, boolean timing, int l2PrefetchPages, int maxRows) {
  /**
   * Default L2 prefetch depth: off. On an H100 at batch 1, prefetching while the ring is full measured 1,193 /
   * 1,203 / 1,204 / 1,207 µs at 0 / 4 / 8 / 16 pages (docs/perf/megakernel.md).
   */
  public static final int DEFAULT_L2_PREFETCH_PAGES = 0;
  /** The largest bucket the kernel is built for. */
  public static final int MAX_ROWS = MegakernelBuffers.MAX_ROWS;
  /**
   * Default row limit: the CUDA-core buckets (up to 8 rows). The tensor-core buckets (16 to 256 rows) match
   * the graph path's logits but are slower than it on an H100 (docs/perf/megakernel.md), so they are opt-in.
   */
  public static final int DEFAULT_MAX_ROWS = StreamBuilder.MAX_CUDA_CORE_ROWS;

  public MegakernelOptions {
    if (!(watchdogMillis > 0)) {
      throw new IllegalArgumentException("watchdogMillis must be positive, got " + watchdogMillis);
    }
    if (l2PrefetchPages < 0) {
      throw new IllegalArgumentException("l2PrefetchPages must be >= 0, got " + l2PrefetchPages);
    }
    if (maxRows < 1 || maxRows > MAX_ROWS) {
      throw new IllegalArgumentException("maxRows must be in 1.." + MAX_ROWS + ", got " + maxRows);
    }
  }

  public static MegakernelOptions defaults() {
    return new MegakernelOptions(1000, false, DEFAULT_L2_PREFETCH_PAGES, DEFAULT_MAX_ROWS);
  }

  public MegakernelOptions withTiming(boolean on) {
    return new MegakernelOptions(watchdogMillis, on, l2PrefetchPages, maxRows);
  }

  public MegakernelOptions withWatchdogMillis(double millis) {
    return new MegakernelOptions(millis, timing, l2PrefetchPages, maxRows);
  }

  public MegakernelOptions withL2PrefetchPages(int pages) {
    return new MegakernelOptions(watchdogMillis, timing, pages, maxRows);
  }

  public MegakernelOptions withMaxRows(int rows) {
    return new MegakernelOptions(watchdogMillis, timing, l2PrefetchPages, rows);
  }
}
