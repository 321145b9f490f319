package org.sparkllm.kvcache;

/**
 * The daemon thread that maps ahead of need, so the step thread finds its pages mapped and does not
 * pay the ~0.7 ms of driver time a fresh page-set costs (DESIGN.md section 4).
 */
final class BackgroundMapper {
  private final VAttentionKvCache cache;
  private final Thread thread;

  BackgroundMapper(VAttentionKvCache cache) {
    this.cache = cache;
    this.thread = new Thread(this::run, "kv-cache-mapper");
    thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  private void run() {
    try {
      cache.attachMapperThread();
      while (cache.runOneBackgroundAction(true)) {
        // one page-set per iteration, so the step thread can get the lock between them
      }
    } catch (RuntimeException e) {
      cache.recordFailure(e);
    }
  }

  /** Called after the cache is marked closed, which wakes the thread and makes it return. */
  void stopAndJoin() {
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while stopping the KV cache mapper", e);
    }
  }
}
