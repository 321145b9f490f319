package org.sparkllm.backend.megakernel;

/**
 * The step count of one bucket's streams: its counters hold {@code epoch · producers} at the start of
 * a step and the kernel waits for {@code (epoch + 1) · producers}, so nothing is reset between steps.
 * Counters are 32-bit unsigned: before {@code (epoch + 1) · maxProducers} would overflow, the host
 * clears them and the clock starts again from 0. A step that failed (watchdog) leaves the counters
 * anywhere, so it also forces a clear.
 */
final class EpochClock {
  private final long lastEpoch;
  private long epoch;
  private boolean clearNeeded = true; // fresh counters are uninitialised memory

  /** @param maxProducersPerStep the largest per-step increment of any counter */
  EpochClock(int maxProducersPerStep) {
    if (maxProducersPerStep < 1) {
      throw new IllegalArgumentException("maxProducersPerStep must be positive, got " + maxProducersPerStep);
    }
    this.lastEpoch = 0xFFFF_FFFFL / maxProducersPerStep - 1;
  }

  /** Whether the counters must be cleared before the next launch (and the clock is then at 0). */
  boolean clearBeforeNextStep() {
    return clearNeeded || epoch > lastEpoch;
  }

  /** Call after clearing the counters. */
  void cleared() {
    epoch = 0;
    clearNeeded = false;
  }

  /** The epoch of the next launch. */
  int epoch() {
    if (clearBeforeNextStep()) {
      throw new IllegalStateException("the counters must be cleared before epoch " + epoch);
    }
    return (int) epoch;
  }

  /** A launch was queued (it and every launch queued before it are expected to complete). */
  void advance() {
    epoch++;
  }

  /** A launch failed: the counters are in an unknown state. */
  void invalidate() {
    clearNeeded = true;
  }

  long lastEpoch() {
    return lastEpoch;
  }
}
