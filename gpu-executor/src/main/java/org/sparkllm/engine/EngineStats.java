package org.sparkllm.engine;

/**
 * Counters since the engine started, read at one moment.
 *
 * @param requestsRejected requests that failed validation (bad prompt or options)
 * @param promptTokens prompt tokens of completed requests
 * @param busyNanos time spent in steps (scheduling, forward, sampling, appending tokens)
 * @param backendNanos the part of busyNanos spent in the backend (forward and sampling); the rest is
 *     host work on the engine thread that the device waits for
 * @param running sequences holding KV capacity after the last step
 * @param waiting sequences queued after the last step
 */
public record EngineStats(
    long requestsCompleted,
    long requestsRejected,
    long promptTokens,
    long generatedTokens,
    long steps,
    long preemptions,
    long busyNanos,
    long backendNanos,
    int running,
    int waiting) {

  /** Generated tokens per second of busy time. */
  public double generatedTokensPerSecond() {
    return busyNanos == 0 ? 0 : generatedTokens * 1e9 / busyNanos;
  }
}
