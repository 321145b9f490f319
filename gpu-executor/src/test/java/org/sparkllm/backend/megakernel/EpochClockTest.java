package org.sparkllm.backend.megakernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class EpochClockTest {

  @Test
  void countersAreClearedFirstAndBeforeTheyWouldOverflow() {
    EpochClock clock = new EpochClock(1 << 30); // targets (epoch + 1) << 30 fit 32 bits for epochs 0..2
    assertTrue(clock.clearBeforeNextStep(), "fresh counters hold garbage");
    assertThrows(IllegalStateException.class, clock::epoch);
    clock.cleared();
    assertEquals(2, clock.lastEpoch());
    for (int e = 0; e <= 2; e++) {
      assertFalse(clock.clearBeforeNextStep());
      assertEquals(e, clock.epoch());
      assertTrue((long) (clock.epoch() + 1) << 30 <= 0xFFFF_FFFFL);
      clock.advance();
    }
    assertTrue(clock.clearBeforeNextStep(), "epoch 3 would overflow");
    clock.cleared();
    assertEquals(0, clock.epoch());
  }

  @Test
  void aFailedStepForcesAClear() {
    EpochClock clock = new EpochClock(132);
    clock.cleared();
    clock.advance();
    clock.invalidate();
    assertTrue(clock.clearBeforeNextStep());
    clock.cleared();
    assertEquals(0, clock.epoch());
  }
}
