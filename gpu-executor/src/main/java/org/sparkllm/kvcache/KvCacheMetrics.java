package org.sparkllm.kvcache;

/**
 * A snapshot of the vAttention cache's counters.
 *
 * @param mappedPageSets page-sets mapped into some slot (running or idle)
 * @param unmappedPageSets page-sets in the pool, mapped nowhere
 * @param freePageSets page-sets not granted to a running slot (admission capacity)
 * @param wastedTokens tokens granted to running slots but unused (page-granularity waste)
 * @param grantedTokens tokens granted to running slots
 * @param lookaheadHits granted page-sets that were already mapped when granted
 * @param lookaheadMisses granted page-sets that still had to be mapped
 * @param reusedSlots acquisitions that got a slot with pages still mapped
 * @param steps calls to {@code awaitMapped}
 * @param blockedSteps steps that had to wait for or do driver work
 * @param blockedNanos total time steps were blocked
 * @param maxBlockedNanos longest single block
 * @param backgroundActions page-sets mapped or unmapped by the background mapper
 * @param stepActions page-sets mapped or unmapped on the step thread
 */
public record KvCacheMetrics(int mappedPageSets, int unmappedPageSets, int freePageSets, long wastedTokens,
    long grantedTokens, long lookaheadHits, long lookaheadMisses, long reusedSlots, long steps, long blockedSteps,
    long blockedNanos, long maxBlockedNanos, long backgroundActions, long stepActions) {

  public double wastePct() {
    return grantedTokens == 0 ? 0 : 100.0 * wastedTokens / grantedTokens;
  }

  public double blockedStepFraction() {
    return steps == 0 ? 0 : (double) blockedSteps / steps;
  }
}
