package org.sparkllm.backend.megakernel;

/**
 * @param watchdogMillis how long one spin inside the kernel may last before the step fails
 * @param timing record per-instruction timestamps ({@link MegakernelBackend#timings()}); costs a
 *     download per step
 */
public record MegakernelOptions(double watchdogMillis, boolean timing) {

  public MegakernelOptions {
    if (!(watchdogMillis > 0)) {
      throw new IllegalArgumentException("watchdogMillis must be positive, got " + watchdogMillis);
    }
  }

  public static MegakernelOptions defaults() {
    return new MegakernelOptions(1000, false);
  }

  public MegakernelOptions withTiming(boolean on) {
    return new MegakernelOptions(watchdogMillis, on);
  }

  public MegakernelOptions withWatchdogMillis(double millis) {
    return new MegakernelOptions(millis, timing);
  }
}
