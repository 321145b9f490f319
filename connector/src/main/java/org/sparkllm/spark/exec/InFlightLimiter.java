package org.sparkllm.spark.exec;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds the requests one task has in the engine (spark.llm.maxInFlight): the task blocks on the
 * next submission until a request completes. This bounds the task's memory and leaves room in the
 * engine for other tasks of the executor.
 */
final class InFlightLimiter {
  private final Semaphore permits;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger peak = new AtomicInteger();

  InFlightLimiter(int maxInFlight) {
    this.permits = new Semaphore(maxInFlight);
  }

  /** Waits for room for one more request; interrupted when Spark kills the task. */
  void acquire() throws InterruptedException {
    permits.acquire();
    peak.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
  }

  /** Called from the engine's thread when a request completes. */
  void release() {
    inFlight.decrementAndGet();
    permits.release();
  }

  int peak() {
    return peak.get();
  }
}
