package org.sparkllm.backend.megakernel;

/**
 * @param watchdogMillis how long one spin inside the kernel may last before the step fails
 * @param timing record per-instruction timestamps ({@link MegakernelBackend#timings()}); costs a
 *     download per step
 * @param pagesInFlight how many 16 KiB weight-page copies each SM's loader keeps outstanding at most (at
 *     least 1; the shared-memory ring's depth bounds it too)
 * @param maxRows the most decode rows a step may have to run on the megakernel (1 to
 *     {@link #MAX_ROWS}); larger steps run on the CUDA-graph path
 * @param launchAheadAfter after how many greedy decode steps in a row, each going on from the step before, a
 *     step also launches the step after it, fed on the device with the tokens it picks, before the caller
 *     asks: the host's share of a step (upload, tokens back, the engine's own work) then overlaps the kernel.
 *     A next batch that differs, other than by finished rows, costs that step's GPU time, hence the streak;
 *     0 never launches ahead (nor does timing)
 */
public record MegakernelOptions(double watchdogMillis, boolean timing, int pagesInFlight, int maxRows,
    int launchAheadAfter) {
  /**
   * Default copies in flight per SM: 2. Copies that have not landed delay the SM's other memory operations,
   * the release fence of every instruction first, while two per SM keep HBM near its rate: on an H100 at
   * batch 1, 1 / 2 / 3 / 4 / 12 copies gave 1,218 / 1,134 / 1,150 / 1,176 / 1,204 µs (docs/perf/megakernel.md).
   */
  public static final int DEFAULT_PAGES_IN_FLIGHT = 2;
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
    if (launchAheadAfter < 0) {
      throw new IllegalArgumentException("launchAheadAfter must be >= 0 (0: never), got " + launchAheadAfter);
    }
    if (maxRows < 1 || maxRows > MAX_ROWS) {
      throw new IllegalArgumentException("maxRows must be in 1.." + MAX_ROWS + ", got " + maxRows);
    }
  }

  public static MegakernelOptions defaults() {
    return new MegakernelOptions(1000, false, DEFAULT_PAGES_IN_FLIGHT, DEFAULT_MAX_ROWS, DEFAULT_LAUNCH_AHEAD_AFTER);
  }

  public MegakernelOptions withTiming(boolean on) {
    return new MegakernelOptions(watchdogMillis, on, pagesInFlight, maxRows, launchAheadAfter);
  }

  public MegakernelOptions withWatchdogMillis(double millis) {
    return new MegakernelOptions(millis, timing, pagesInFlight, maxRows, launchAheadAfter);
  }

  public MegakernelOptions withPagesInFlight(int pages) {
    return new MegakernelOptions(watchdogMillis, timing, pages, maxRows, launchAheadAfter);
  }

  public MegakernelOptions withMaxRows(int rows) {
    return new MegakernelOptions(watchdogMillis, timing, pagesInFlight, rows, launchAheadAfter);
  }

  public MegakernelOptions withLaunchAheadAfter(int steps) {
    return new MegakernelOptions(watchdogMillis, timing, pagesInFlight, maxRows, steps);
  }
}
