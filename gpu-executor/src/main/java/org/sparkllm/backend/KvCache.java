package org.sparkllm.backend;

/**
 * The scheduler's view of a KV cache: slots (one per running sequence) whose capacity grows in pages
 * drawn from a fixed pool. The CPU cache and the vAttention GPU cache both implement it.
 */
public interface KvCache {

  /** Most sequences that can hold a slot at once. */
  int maxSlots();

  /** Tokens per page: capacity is granted in these units. */
  int pageTokens();

  /** Pages not held by any slot. */
  int freePages();

  int totalPages();

  /** A free slot with no pages, or -1 when all slots are taken. */
  int acquireSlot();

  /**
   * Grows the slot so that it holds at least {@code tokens} tokens.
   *
   * @return false, changing nothing, when the pool has too few free pages
   */
  boolean ensureCapacity(int slot, int tokens);

  /** Returns the slot and all its pages to the pool. */
  void releaseSlot(int slot);

  /** Pages needed to hold {@code tokens} tokens. */
  default int pagesFor(int tokens) {
    return (tokens + pageTokens() - 1) / pageTokens();
  }
}
