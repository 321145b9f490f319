package org.sparkllm.backend.megakernel;

/**
 * @param watchdogMillis how long one spin inside the kernel may last before the step fails
 * @param timing record per-instruction timestamps ({@link MegakernelBackend#timings()}); costs a
 *     download per step
 * @param pagesInFlight how many 16 KiB weight-page copies each SM's loader keeps outstanding at most (at
 *     least 1; the shared-memory ring's depth bounds it too)
 * @param l2PrefetchPages how many 16 KiB weight pages each SM's loader asks L2 for beyond its ring while the ring
 *     is full, in buckets of at most {@link #L2_PREFETCH_MAX_ROWS} rows (0: never; at most
 *     {@link #MAX_L2_PREFETCH_PAGES})
 * @param maxRows the most decode rows a step may have to run on the megakernel (1 to
 *     {@link #MAX_ROWS}); larger steps run on the CUDA-graph path
 * @param launchAheadAfter after how many greedy decode steps in a row, each going on from the step before, a
 *     step also launches the step after it, fed on the device with the tokens it picks, before the caller
 *     asks: the host's share of a step (upload, tokens back, the engine's own work) then overlaps the kernel.
 *     A next batch that differs, other than by finished rows, costs that step's GPU time, hence the streak;
 *     0 never launches ahead (nor does timing)
 */
public record MegakernelOptions(double watchdogMillis, boolean timing, int pagesInFlight, int l2PrefetchPages,
    int maxRows, int launchAheadAfter) {
  /**
   * Default copies in flight per SM: 2. Copies that have not landed delay the SM's other memory operations,
   * the release fence of every instruction first, while two per SM keep HBM near its rate: on an H100 at
   * batch 1, 1 / 2 / 3 / 4 / 12 copies gave 1,218 / 1,134 / 1,150 / 1,176 / 1,204 µs (docs/perf/megakernel.md).
   */
  public static final int DEFAULT_PAGES_IN_FLIGHT = 2;
  /**
   * Default L2 window: 16 pages (256 KiB per SM, 34 MB over an H100's 132 SMs). When the consumers stop taking
   * pages (the QKV, attention and O_PROJ chain of every layer), the ring fills and the block's HBM stream would
   * stand still; pages asked of L2 then keep it going. On an H100 (1B, same machine, three rounds) batch 1 went
   * 1,087-1,091 -> 1,059-1,062 µs per step and 2 rows 1,121-1,133 -> 1,104-1,118 µs; 20 and 24 pages lost 9 and
   * 21 µs at batch 1 (132 SMs' windows then ask 43 and 52 MB of the 50 MB L2), 32 gave no gain, and keeping the
   * window ahead at every page instead of while the ring is full lost 23% (docs/perf/megakernel.md).
   */
  public static final int DEFAULT_L2_PREFETCH_PAGES = 16;
  /**
   * The window serves buckets of 1 and 2 rows only: from 4 rows up the ring also fills while the consumers
   * compute, and the window then costs more than it gains (H100: 4 rows 1,352 -> 1,508 µs, 16 rows 1,511 -> 1,640).
   */
  public static final int L2_PREFETCH_MAX_ROWS = 2;
  /** 64 pages per SM is 138 MB on an H100, well past its 50 MB L2. */
  public static final int MAX_L2_PREFETCH_PAGES = 64;
  /** The largest bucket the kernel is built for. */
  public static final int MAX_ROWS = MegakernelBuffers.MAX_ROWS;
  /**
   * Default row limit: 16, the buckets faster than the graph path on an H100 (up to 4 rows on CUDA cores, then
   * the 16-row tensor-core bucket: 1.10x at 16 rows). The larger tensor-core buckets (32 to 256 rows) match the
   * graph path's logits within 1e-2 but are slower than it (docs/perf/megakernel.md), so they are opt-in.
   */
  public static final int DEFAULT_MAX_ROWS = 16;
  /**
   * Default streak before steps are launched ahead: 16. On an H100 (1B, offline, 2,048 prompts) launching
   * ahead after every continued step gained 6% when sequences finish in waves but lost 6% with staggered
   * output lengths, where nearly every step admits a prompt (docs/perf/megakernel.md).
   */
  public static final int DEFAULT_LAUNCH_AHEAD_AFTER = 16;

  public MegakernelOptions {
    if (!(watchdogMillis > 0)) {
      throw new IllegalArgumentException("watchdogMillis must be positive, got " + watchdogMillis);
    }
    if (pagesInFlight < 1) {
      throw new IllegalArgumentException("pagesInFlight must be >= 1, got " + pagesInFlight);
    }
    if (l2PrefetchPages < 0 || l2PrefetchPages > MAX_L2_PREFETCH_PAGES) {
      throw new IllegalArgumentException(
          "l2PrefetchPages must be in 0.." + MAX_L2_PREFETCH_PAGES + " (0: never), got " + l2PrefetchPages);
    }
    if (launchAheadAfter < 0) {
      throw new IllegalArgumentException("launchAheadAfter must be >= 0 (0: never), got " + launchAheadAfter);
    }
    if (maxRows < 1 || maxRows > MAX_ROWS) {
      throw new IllegalArgumentException("maxRows must be in 1.." + MAX_ROWS + ", got " + maxRows);
    }
  }

  public static MegakernelOptions defaults() {
    return new MegakernelOptions(1000, false, DEFAULT_PAGES_IN_FLIGHT, DEFAULT_L2_PREFETCH_PAGES, DEFAULT_MAX_ROWS,
        DEFAULT_LAUNCH_AHEAD_AFTER);
  }

  public MegakernelOptions withTiming(boolean on) {
    return new MegakernelOptions(watchdogMillis, on, pagesInFlight, l2PrefetchPages, maxRows, launchAheadAfter);
  }

  public MegakernelOptions withWatchdogMillis(double millis) {
    return new MegakernelOptions(millis, timing, pagesInFlight, l2PrefetchPages, maxRows, launchAheadAfter);
  }

  public MegakernelOptions withPagesInFlight(int pages) {
    return new MegakernelOptions(watchdogMillis, timing, pages, l2PrefetchPages, maxRows, launchAheadAfter);
  }

  public MegakernelOptions withL2PrefetchPages(int pages) {
    return new MegakernelOptions(watchdogMillis, timing, pagesInFlight, pages, maxRows, launchAheadAfter);
  }

  public MegakernelOptions withMaxRows(int rows) {
    return new MegakernelOptions(watchdogMillis, timing, pagesInFlight, l2PrefetchPages, rows, launchAheadAfter);
  }

  public MegakernelOptions withLaunchAheadAfter(int steps) {
    return new MegakernelOptions(watchdogMillis, timing, pagesInFlight, l2PrefetchPages, maxRows, steps);
  }

  /**
   * The L2 window of a bucket's launches: {@link #l2PrefetchPages} up to {@link #L2_PREFETCH_MAX_ROWS} rows,
   * else 0.
   */
  public int l2PrefetchPages(int bucket) {
    return bucket <= L2_PREFETCH_MAX_ROWS ? l2PrefetchPages : 0;
  }
}
