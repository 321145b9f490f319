package org.sparkllm.backend.megakernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MegakernelOptionsTest {
  @Test
  void rowLimitsOutsideTheBuiltBucketsAreRejectedByName() {
    assertEquals(16, MegakernelOptions.defaults().maxRows());
    assertEquals(256, MegakernelOptions.defaults().withMaxRows(256).maxRows());
    for (int bad : new int[] {0, 257}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> MegakernelOptions.defaults().withMaxRows(bad));
      assertTrue(e.getMessage().contains("maxRows") && e.getMessage().contains(String.valueOf(bad)), e.getMessage());
    }
  }

  @Test
  void pageCopiesInFlightDefaultToTwoAndMustBePositive() {
    assertEquals(2, MegakernelOptions.defaults().pagesInFlight());
    assertEquals(12, MegakernelOptions.defaults().withPagesInFlight(12).pagesInFlight());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> MegakernelOptions.defaults().withPagesInFlight(0));
    assertTrue(e.getMessage().contains("pagesInFlight") && e.getMessage().contains("0"), e.getMessage());
  }

  @Test
  void theL2WindowServesOnlyTheSmallestBucketsAndIsBounded() {
    MegakernelOptions defaults = MegakernelOptions.defaults();
    assertEquals(16, defaults.l2PrefetchPages());
    assertEquals(16, defaults.l2PrefetchPages(1));
    assertEquals(16, defaults.l2PrefetchPages(2));
    assertEquals(0, defaults.l2PrefetchPages(4));
    assertEquals(0, defaults.l2PrefetchPages(256));
    assertEquals(0, defaults.withL2PrefetchPages(0).l2PrefetchPages(1));
    assertEquals(7, defaults.withL2PrefetchPages(7).withPagesInFlight(3).withMaxRows(64).l2PrefetchPages(1));
    for (int bad : new int[] {-1, 65}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> defaults.withL2PrefetchPages(bad));
      assertTrue(e.getMessage().contains("l2PrefetchPages") && e.getMessage().contains(String.valueOf(bad)),
          e.getMessage());
    }
  }

  @Test
  void stepsAreLaunchedAheadAfterAStreakThatEveryWitherKeeps() {
    assertEquals(16, MegakernelOptions.defaults().launchAheadAfter());
    MegakernelOptions off = MegakernelOptions.defaults().withLaunchAheadAfter(0);
    assertEquals(0, off.launchAheadAfter());
    assertEquals(0, off.withTiming(true).withWatchdogMillis(5).withPagesInFlight(3).withL2PrefetchPages(4)
        .withMaxRows(64).launchAheadAfter());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> MegakernelOptions.defaults().withLaunchAheadAfter(-1));
    assertTrue(e.getMessage().contains("launchAheadAfter") && e.getMessage().contains("-1"), e.getMessage());
  }
}
