package org.sparkllm.kvcache;

import java.util.ArrayDeque;

/**
 * The vAttention allocation policy, pure and deterministic (no driver, no threads, no clock): which
 * slot a request gets, how much capacity is granted, and which page-set to map or unmap next.
 *
 * <p>Capacity is granted in page-sets (accounting only); physical mapping follows through
 * {@link PageSetAction}s that the caller executes and then {@link #commit}s. A slot's mapped
 * page-sets always form a prefix: index 0..mapped-1. Rules:
 * <ul>
 *   <li>Best fit: a new request takes the free slot whose mapped page-sets cover it most tightly,
 *       else the one with the most mapped; reuse costs no driver call.</li>
 *   <li>Deferred reclamation: releasing a slot only drops its grant; its pages stay mapped.</li>
 *   <li>On-demand reclamation: a required map with an empty pool first unmaps the last page-set of the
 *       idle slot holding the most, then of the running slot mapped furthest beyond its grant.</li>
 *   <li>Look-ahead (background only, never reclaiming): map running slots up to
 *       {@code lookaheadTokens} past their length, and keep {@code spareSlots} idle slots mapped, using
 *       only pool pages not needed by outstanding grants.</li>
 * </ul>
 * Grants never exceed the pool, so required work can always be met by pool, idle or excess pages.
 * Not thread-safe: the cache serialises calls.
 */
public final class PageSetPolicy {
  private final KvCacheShape shape;
  private final int totalPageSets;
  private final int lookaheadTokens;
  private final int spareSlots;
  private final ArrayDeque<Integer> pool = new ArrayDeque<>();
  private final boolean[] inUse;
  private final boolean[] busy;
  private final int[] granted;
  private final int[] tokens;
  private final int[][] mapped;
  private final int[] mappedCount;
  private int committed;
  private long lookaheadHits;
  private long lookaheadMisses;
  private long reusedSlots;

  public PageSetPolicy(KvCacheShape shape, int totalPageSets, int lookaheadTokens, int spareSlots) {
    if (totalPageSets < 1) {
      throw new IllegalArgumentException("the pool needs at least one page-set, got " + totalPageSets);
    }
    this.shape = shape;
    this.totalPageSets = totalPageSets;
    this.lookaheadTokens = lookaheadTokens;
    this.spareSlots = spareSlots;
    for (int p = 0; p < totalPageSets; p++) {
      pool.add(p);
    }
    int slots = shape.maxSlots();
    inUse = new boolean[slots];
    busy = new boolean[slots];
    granted = new int[slots];
    tokens = new int[slots];
    mapped = new int[slots][shape.pageSetsPerSlot()];
    mappedCount = new int[slots];
  }

  public int totalPageSets() {
    return totalPageSets;
  }

  /** Page-sets not granted to a running slot: what admission may still promise. */
  public int freePageSets() {
    return totalPageSets - committed;
  }

  /** Tokens the scheduler may still admit, all running slots' grants deducted. */
  public long freeCapacityTokens() {
    return (long) freePageSets() * shape.pageTokens();
  }

  /** Page-sets in the pool, mapped nowhere. */
  public int unmappedPageSets() {
    return pool.size();
  }

  public int mappedPageSets() {
    int sum = 0;
    for (int count : mappedCount) {
      sum += count;
    }
    return sum;
  }

  public int mappedPageSets(int slot) {
    return mappedCount[slot];
  }

  /** The physical page-set mapped at page index {@code index} of {@code slot}. */
  public int pageSetAt(int slot, int index) {
    if (index >= mappedCount[slot]) {
      throw new IllegalArgumentException("slot " + slot + " has no page-set mapped at index " + index);
    }
    return mapped[slot][index];
  }

  public int grantedPageSets(int slot) {
    return granted[slot];
  }

  public int tokens(int slot) {
    return tokens[slot];
  }

  public boolean inUse(int slot) {
    return inUse[slot];
  }

  /** Granted page-sets that were already mapped by look-ahead or reuse when granted. */
  public long lookaheadHits() {
    return lookaheadHits;
  }

  /** Granted page-sets that still had to be mapped when granted. */
  public long lookaheadMisses() {
    return lookaheadMisses;
  }

  /** Acquisitions that got a slot with page-sets already mapped. */
  public long reusedSlots() {
    return reusedSlots;
  }

  /** Tokens granted to running slots but not used: page-granularity internal fragmentation. */
  public long wastedTokens() {
    long waste = 0;
    for (int s = 0; s < inUse.length; s++) {
      if (inUse[s]) {
        waste += (long) granted[s] * shape.pageTokens() - tokens[s];
      }
    }
    return waste;
  }

  /** Takes the best-fit free slot for a request expected to need {@code expectedTokens}; -1 if none. */
  public int acquireSlot(int expectedTokens) {
    int need = Math.max(1, shape.pageSetsFor(Math.min(expectedTokens, shape.maxContext())));
    int best = -1;
    for (int s = 0; s < inUse.length; s++) {
      if (!inUse[s] && (best < 0 || fitsBetter(mappedCount[s], mappedCount[best], need))) {
        best = s;
      }
    }
    if (best >= 0) {
      inUse[best] = true;
      granted[best] = 0;
      tokens[best] = 0;
      if (mappedCount[best] > 0) {
        reusedSlots++;
      }
    }
    return best;
  }

  /** Covering the need beats not covering it; among covers the tightest, else the most mapped. */
  private static boolean fitsBetter(int candidate, int current, int need) {
    boolean candidateFits = candidate >= need;
    boolean currentFits = current >= need;
    if (candidateFits != currentFits) {
      return candidateFits;
    }
    return candidateFits ? candidate < current : candidate > current;
  }

  /** Grants the slot capacity for {@code newTokens} tokens; false, changing nothing, if not possible. */
  public boolean ensureCapacity(int slot, int newTokens) {
    requireInUse(slot);
    if (newTokens > shape.maxContext()) {
      return false;
    }
    int need = shape.pageSetsFor(newTokens);
    int extra = need - granted[slot];
    if (extra > freePageSets()) {
      return false;
    }
    for (int index = granted[slot]; index < need; index++) {
      if (index < mappedCount[slot]) {
        lookaheadHits++;
      } else {
        lookaheadMisses++;
      }
    }
    if (extra > 0) {
      granted[slot] = need;
      committed += extra;
    }
    tokens[slot] = Math.max(tokens[slot], newTokens);
    return true;
  }

  /** Frees the slot; its page-sets stay mapped for the next request (deferred reclamation). */
  public void releaseSlot(int slot) {
    requireInUse(slot);
    inUse[slot] = false;
    committed -= granted[slot];
    granted[slot] = 0;
    tokens[slot] = 0;
  }

  /** True when every running slot has its granted page-sets mapped: the step may run. */
  public boolean grantsMapped() {
    for (int s = 0; s < inUse.length; s++) {
      if (inUse[s] && mappedCount[s] < granted[s]) {
        return false;
      }
    }
    return true;
  }

  /**
   * The next action a step needs, or null when nothing is needed that is not already in flight. An
   * UNMAP result is reclamation: commit it, then ask again for the MAP it makes possible.
   */
  public PageSetAction nextRequiredAction() {
    for (int s = 0; s < inUse.length; s++) {
      if (inUse[s] && !busy[s] && mappedCount[s] < granted[s]) {
        return pool.isEmpty() ? reclaim() : mapNext(s);
      }
    }
    return null;
  }

  /** What the background mapper should do next: required work first, then look-ahead and spares. */
  public PageSetAction nextBackgroundAction() {
    PageSetAction required = nextRequiredAction();
    if (required != null || pool.size() <= outstandingGrants()) {
      return required;
    }
    for (int s = 0; s < inUse.length; s++) {
      if (inUse[s] && !busy[s] && mappedCount[s] < lookaheadTarget(s)) {
        return mapNext(s);
      }
    }
    int mappedIdle = 0;
    int firstEmptyIdle = -1;
    for (int s = 0; s < inUse.length; s++) {
      if (!inUse[s] && mappedCount[s] > 0) {
        mappedIdle++;
      } else if (!inUse[s] && !busy[s] && firstEmptyIdle < 0) {
        firstEmptyIdle = s;
      }
    }
    return mappedIdle < spareSlots && firstEmptyIdle >= 0 ? mapNext(firstEmptyIdle) : null;
  }

  /** Records that the driver carried {@code action} out. */
  public void commit(PageSetAction action) {
    int s = action.slot();
    if (!busy[s]) {
      throw new IllegalStateException("no action in flight for slot " + s + ": " + action);
    }
    busy[s] = false;
    if (action.kind() == PageSetAction.Kind.MAP) {
      mapped[s][mappedCount[s]++] = action.pageSet();
    } else {
      mappedCount[s]--;
      pool.add(action.pageSet());
    }
  }

  private int lookaheadTarget(int slot) {
    int target = shape.pageSetsFor(Math.min(shape.maxContext(), tokens[slot] + lookaheadTokens));
    return Math.max(target, granted[slot]);
  }

  private int outstandingGrants() {
    int missing = 0;
    for (int s = 0; s < inUse.length; s++) {
      if (inUse[s]) {
        missing += Math.max(0, granted[s] - mappedCount[s]);
      }
    }
    return missing;
  }

  private PageSetAction mapNext(int slot) {
    busy[slot] = true;
    return new PageSetAction(PageSetAction.Kind.MAP, slot, mappedCount[slot], pool.poll());
  }

  /** Unmaps one page-set from the idle slot holding most, else from the most over-provisioned one. */
  private PageSetAction reclaim() {
    int victim = -1;
    for (int s = 0; s < inUse.length; s++) {
      if (!inUse[s] && !busy[s] && mappedCount[s] > 0 && (victim < 0 || mappedCount[s] > mappedCount[victim])) {
        victim = s;
      }
    }
    if (victim < 0) {
      for (int s = 0; s < inUse.length; s++) {
        if (inUse[s] && !busy[s] && mappedCount[s] > granted[s]
            && (victim < 0 || mappedCount[s] - granted[s] > mappedCount[victim] - granted[victim])) {
          victim = s;
        }
      }
    }
    if (victim < 0) {
      return null; // every reclaimable page-set is in flight: wait for it
    }
    busy[victim] = true;
    int index = mappedCount[victim] - 1;
    return new PageSetAction(PageSetAction.Kind.UNMAP, victim, index, mapped[victim][index]);
  }

  private void requireInUse(int slot) {
    if (!inUse[slot]) {
      throw new IllegalStateException("slot " + slot + " is not in use");
    }
  }
}
