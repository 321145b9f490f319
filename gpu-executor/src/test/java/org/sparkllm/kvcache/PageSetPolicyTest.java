package org.sparkllm.kvcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The allocation policy alone: decisions, no driver. 256 tokens per page-set, 4 page-sets per slot. */
class PageSetPolicyTest {
  static final KvCacheShape SHAPE = new KvCacheShape(2, 1, 8, 2, 4, 1024, 4096);

  /** Executes required work the way the cache would, committing each action. */
  private static int mapRequired(PageSetPolicy policy) {
    int actions = 0;
    PageSetAction action;
    while ((action = policy.nextRequiredAction()) != null) {
      policy.commit(action);
      actions++;
    }
    return actions;
  }

  private static int mapAhead(PageSetPolicy policy) {
    int actions = 0;
    PageSetAction action;
    while ((action = policy.nextBackgroundAction()) != null) {
      policy.commit(action);
      actions++;
    }
    return actions;
  }

  @Test
  void grantsAreAccountingAndMappingFollowsAsAPrefix() {
    PageSetPolicy policy = new PageSetPolicy(SHAPE, 8, 0, 0);
    int slot = policy.acquireSlot(300);
    assertTrue(policy.ensureCapacity(slot, 300));
    assertEquals(2, policy.grantedPageSets(slot));
    assertEquals(6, policy.freePageSets());
    assertEquals(0, policy.mappedPageSets(slot), "granting calls no driver");
    assertFalse(policy.grantsMapped());
    PageSetAction first = policy.nextRequiredAction();
    assertEquals(new PageSetAction(PageSetAction.Kind.MAP, slot, 0, 0), first);
    assertNull(policy.nextRequiredAction(), "the slot's next page waits for the one in flight");
    policy.commit(first);
    assertEquals(1, mapRequired(policy));
    assertTrue(policy.grantsMapped());
    assertEquals(2 * 256 - 300, policy.wastedTokens());
  }

  @Test
  void refusesBeyondThePoolOrTheContextAndChangesNothing() {
    PageSetPolicy policy = new PageSetPolicy(SHAPE, 3, 0, 0);
    int a = policy.acquireSlot(0);
    assertTrue(policy.ensureCapacity(a, 512));
    int b = policy.acquireSlot(0);
    assertFalse(policy.ensureCapacity(b, 512));
    assertEquals(0, policy.grantedPageSets(b));
    assertEquals(1, policy.freePageSets());
    assertEquals(256, policy.freeCapacityTokens());
    assertFalse(policy.ensureCapacity(a, 1025), "past maxContext");
    assertTrue(policy.ensureCapacity(b, 256));
    assertEquals(0, policy.freeCapacityTokens());
  }

  @Test
  void releaseKeepsPagesMappedAndBestFitReusesThemWithoutDriverWork() {
    PageSetPolicy policy = new PageSetPolicy(SHAPE, 16, 0, 0);
    int big = policy.acquireSlot(0);
    policy.ensureCapacity(big, 1000); // 4 page-sets
    int small = policy.acquireSlot(0);
    policy.ensureCapacity(small, 200); // 1 page-set
    int medium = policy.acquireSlot(0);
    policy.ensureCapacity(medium, 600); // 3 page-sets
    mapRequired(policy);
    policy.releaseSlot(big);
    policy.releaseSlot(small);
    policy.releaseSlot(medium);
    assertEquals(8, policy.mappedPageSets(), "deferred reclamation: nothing unmapped");
    assertEquals(16, policy.freePageSets());

    assertEquals(medium, policy.acquireSlot(520), "3 page-sets cover 520 tokens most tightly");
    assertEquals(big, policy.acquireSlot(900), "only the 4-page-set slot covers 900");
    assertEquals(small, policy.acquireSlot(700), "nothing covers: take the most mapped left");
    assertEquals(3, policy.reusedSlots());
    policy.ensureCapacity(medium, 520);
    assertEquals(0, mapRequired(policy), "reused pages need no driver work");
    assertEquals(3, policy.lookaheadHits());
  }

  @Test
  void aRequestThatFitsNowhereTakesAnEmptySlotOnlyWhenNoneIsMapped() {
    PageSetPolicy policy = new PageSetPolicy(SHAPE, 16, 0, 0);
    int a = policy.acquireSlot(0);
    policy.ensureCapacity(a, 10);
    mapRequired(policy);
    policy.releaseSlot(a);
    assertEquals(a, policy.acquireSlot(0), "default request of one page-set reuses the mapped slot");
    assertEquals(1, policy.acquireSlot(0), "then the lowest empty one");
  }

  @Test
  void onDemandReclamationTakesFromIdleSlotsFirstThenOverProvisionedOnes() {
    PageSetPolicy policy = new PageSetPolicy(SHAPE, 6, 1024, 0);
    int idle = policy.acquireSlot(0);
    policy.ensureCapacity(idle, 512);
    int running = policy.acquireSlot(0);
    policy.ensureCapacity(running, 10);
    mapRequired(policy);
    policy.releaseSlot(idle);
    mapAhead(policy); // look-ahead maps the running slot to its full 4 page-sets: 2 + 4 = 6, pool empty
    assertEquals(4, policy.mappedPageSets(running));
    assertEquals(0, policy.unmappedPageSets());

    int fresh = policy.acquireSlot(1024); // best available: the idle slot with 2 page-sets
    assertEquals(idle, fresh);
    assertTrue(policy.ensureCapacity(fresh, 1024)); // needs 4: 2 mapped, 2 to map from an empty pool
    PageSetAction reclaim = policy.nextRequiredAction();
    assertEquals(new PageSetAction(PageSetAction.Kind.UNMAP, running, 3, reclaim.pageSet()), reclaim,
        "no idle slot left: unmap the last page-set of the over-provisioned running slot");
    policy.commit(reclaim);
    mapRequired(policy);
    assertTrue(policy.grantsMapped());
    assertEquals(2, policy.mappedPageSets(running), "two of its look-ahead page-sets reclaimed");
    assertEquals(1, policy.grantedPageSets(running));
  }

  @Test
  void idleSlotsAreReclaimedBeforeRunningOnes() {
    PageSetPolicy policy = new PageSetPolicy(SHAPE, 4, 1024, 0);
    int idle = policy.acquireSlot(0);
    policy.ensureCapacity(idle, 512);
    int running = policy.acquireSlot(0);
    policy.ensureCapacity(running, 10);
    mapRequired(policy);
    policy.releaseSlot(idle);
    mapAhead(policy); // the running slot takes the last free page-set
    assertEquals(0, policy.unmappedPageSets());
    assertTrue(policy.ensureCapacity(running, 700)); // 3 page-sets: 2 mapped
    PageSetAction reclaim = policy.nextRequiredAction();
    assertEquals(PageSetAction.Kind.UNMAP, reclaim.kind());
    assertEquals(idle, reclaim.slot());
    assertEquals(1, reclaim.index(), "the last page-set of the idle slot");
  }

  @Test
  void lookaheadIsBoundedAndNeverSpendsPagesOwedToGrants() {
    PageSetPolicy policy = new PageSetPolicy(SHAPE, 16, 300, 0);
    int slot = policy.acquireSlot(0);
    policy.ensureCapacity(slot, 100);
    assertEquals(2, mapAhead(policy), "grant (1) plus look-ahead to 400 tokens (2 page-sets)");
    assertEquals(2, policy.mappedPageSets(slot));
    policy.ensureCapacity(slot, 300);
    assertEquals(1, policy.lookaheadHits(), "the second page-set was mapped ahead");
    assertEquals(1, mapAhead(policy), "look-ahead now reaches 600 tokens: one more");

    PageSetPolicy tight = new PageSetPolicy(SHAPE, 2, 1000, 0);
    int a = tight.acquireSlot(0);
    tight.ensureCapacity(a, 10);
    int b = tight.acquireSlot(0);
    tight.ensureCapacity(b, 10);
    assertEquals(2, mapAhead(tight), "only the two granted page-sets, no look-ahead: the pool is owed");
    assertEquals(1, tight.mappedPageSets(a));
    assertEquals(1, tight.mappedPageSets(b));
  }

  @Test
  void keepsSpareSlotsMappedForNewRequests() {
    PageSetPolicy policy = new PageSetPolicy(SHAPE, 16, 0, 2);
    assertEquals(2, mapAhead(policy));
    assertEquals(1, policy.mappedPageSets(0));
    assertEquals(1, policy.mappedPageSets(1));
    assertEquals(0, policy.acquireSlot(100), "a spare slot");
    assertEquals(1, mapAhead(policy), "one spare used, one more mapped");
    assertEquals(1, policy.mappedPageSets(2));
  }

  @Test
  void misusesFailFast() {
    PageSetPolicy policy = new PageSetPolicy(SHAPE, 4, 0, 0);
    assertThrows(IllegalStateException.class, () -> policy.ensureCapacity(0, 10));
    assertThrows(IllegalStateException.class, () -> policy.releaseSlot(0));
    assertThrows(IllegalStateException.class,
        () -> policy.commit(new PageSetAction(PageSetAction.Kind.MAP, 0, 0, 0)));
    assertThrows(IllegalArgumentException.class, () -> new PageSetPolicy(SHAPE, 0, 0, 0));
  }

  @Test
  void allSlotsTakenGivesMinusOne() {
    PageSetPolicy policy = new PageSetPolicy(SHAPE, 4, 0, 0);
    for (int i = 0; i < SHAPE.maxSlots(); i++) {
      assertEquals(i, policy.acquireSlot(0));
    }
    assertEquals(-1, policy.acquireSlot(0));
  }
}
