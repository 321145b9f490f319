package org.sparkllm.backend.cpu;

import java.util.ArrayDeque;
import java.util.Arrays;
import org.sparkllm.backend.KvCache;
import org.sparkllm.model.LlamaConfig;

/**
 * A paged KV cache in Java heap memory. Each page holds {@code pageTokens} consecutive positions of one
 * sequence for every layer, keys and values: layout {@code [layer][K|V][token][kvDim]}. Page arrays are
 * allocated the first time they are handed out and then recycled, so an engine that never fills its
 * capacity never pays for it.
 */
public final class CpuKvCache implements KvCache {
  private final int layers;
  private final int kvDim;
  private final int pageTokens;
  private final int totalPages;
  private final float[][] pages;
  private final ArrayDeque<Integer> freePageIds = new ArrayDeque<>();
  private final int[][] slotPages;
  private final int[] slotPageCount;
  private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();

  public CpuKvCache(LlamaConfig config, int maxSlots, int capacityTokens, int pageTokens) {
    if (maxSlots < 1 || pageTokens < 1 || capacityTokens < pageTokens) {
      throw new IllegalArgumentException(
          "KV cache needs maxSlots >= 1 and capacityTokens >= pageTokens >= 1, got maxSlots="
              + maxSlots + " capacityTokens=" + capacityTokens + " pageTokens=" + pageTokens);
    }
    this.layers = config.numLayers();
    this.kvDim = config.kvDim();
    this.pageTokens = pageTokens;
    this.totalPages = capacityTokens / pageTokens;
    this.pages = new float[totalPages][];
    for (int p = 0; p < totalPages; p++) {
      freePageIds.add(p);
    }
    this.slotPages = new int[maxSlots][];
    this.slotPageCount = new int[maxSlots];
    for (int s = 0; s < maxSlots; s++) {
      slotPages[s] = new int[4];
      freeSlots.add(s);
    }
  }

  @Override
  public int maxSlots() {
    return slotPages.length;
  }

  @Override
  public int pageTokens() {
    return pageTokens;
  }

  @Override
  public int freePages() {
    return freePageIds.size();
  }

  @Override
  public int totalPages() {
    return totalPages;
  }

  @Override
  public int acquireSlot() {
    Integer slot = freeSlots.poll();
    return slot == null ? -1 : slot;
  }

  @Override
  public boolean ensureCapacity(int slot, int tokens) {
    int missing = pagesFor(tokens) - slotPageCount[slot];
    if (missing <= 0) {
      return true;
    }
    if (missing > freePageIds.size()) {
      return false;
    }
    for (int i = 0; i < missing; i++) {
      int page = freePageIds.poll();
      if (pages[page] == null) {
        pages[page] = new float[layers * 2 * pageTokens * kvDim];
      }
      if (slotPageCount[slot] == slotPages[slot].length) {
        slotPages[slot] = Arrays.copyOf(slotPages[slot], slotPages[slot].length * 2);
      }
      slotPages[slot][slotPageCount[slot]++] = page;
    }
    return true;
  }

  @Override
  public void releaseSlot(int slot) {
    for (int i = 0; i < slotPageCount[slot]; i++) {
      freePageIds.add(slotPages[slot][i]);
    }
    slotPageCount[slot] = 0;
    freeSlots.add(slot);
  }

  /** The page array holding {@code position} of the slot's sequence. */
  float[] page(int slot, int position) {
    return pages[slotPages[slot][position / pageTokens]];
  }

  /** Offset of the key vector of {@code position} in layer {@code layer} within its page. */
  int keyOffset(int layer, int position) {
    return ((layer * 2) * pageTokens + position % pageTokens) * kvDim;
  }

  /** Offset of the value vector of {@code position} in layer {@code layer} within its page. */
  int valueOffset(int layer, int position) {
    return ((layer * 2 + 1) * pageTokens + position % pageTokens) * kvDim;
  }
}
