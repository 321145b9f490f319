package org.sparkllm.kvcache;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class WasteMeterTest {
  @Test
  void wasteIsUnusedOverGranted() {
    WasteMeter pages = new WasteMeter(2048);
    WasteMeter blocks = new WasteMeter(16);
    for (int tokens : new int[] {1, 2048, 2049, 100}) {
      pages.add(tokens);
      blocks.add(tokens);
    }
    // granted 2048 + 2048 + 4096 + 2048 = 10240, used 4198
    assertEquals(100.0 * (10240 - 4198) / 10240, pages.wastePct(), 1e-9);
    // granted 16 + 2048 + 2064 + 112 = 4240
    assertEquals(100.0 * (4240 - 4198) / 4240, blocks.wastePct(), 1e-9);
    assertEquals(0, new WasteMeter(16).wastePct());
  }
}
