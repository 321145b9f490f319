package org.sparkllm.backend.megakernel;

import org.sparkllm.backend.KvCache;

/**
 * The KV cache as callers of a {@link MegakernelBackend} see it: before a slot goes back to the pool, the step
 * launched ahead (which may still write that slot's next position) is waited for, so no page changes hands
 * under a running kernel; the backend keeps that step's tokens for the next batch. Granting capacity needs no
 * wait: the pages it maps are not yet part of any step.
 */
final class SettlingKvCache implements KvCache {
  private final KvCache cache;
  private final Runnable awaitStepAhead;

  SettlingKvCache(KvCache cache, Runnable awaitStepAhead) {
    this.cache = cache;
    this.awaitStepAhead = awaitStepAhead;
  }

  @Override
  public int maxSlots() {
    return cache.maxSlots();
  }

  @Override
  public int pageTokens() {
    return cache.pageTokens();
  }

  @Override
  public int freePages() {
    return cache.freePages();
  }

  @Override
  public int totalPages() {
    return cache.totalPages();
  }

  @Override
  public int acquireSlot() {
    return cache.acquireSlot();
  }

  @Override
  public boolean ensureCapacity(int slot, int tokens) {
    return cache.ensureCapacity(slot, tokens);
  }

  @Override
  public void releaseSlot(int slot) {
    awaitStepAhead.run();
    cache.releaseSlot(slot);
  }
}
