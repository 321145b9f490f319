package org.sparkllm.kvcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class KvCacheShapeTest {
  @Test
  void llama32OneBWithTwoMiBPages() {
    KvCacheShape shape = KvCacheShape.llama32OneB(256, 4096, 2L << 20);
    assertEquals(1024, shape.tokenBytes());
    assertEquals(2048, shape.pageTokens(), "DESIGN.md: 2048 tokens per page per (layer, K|V)");
    assertEquals(32, shape.tensors());
    assertEquals(2, shape.pageSetsPerSlot());
    assertEquals(4L << 20, shape.slotStrideBytes());
    assertEquals(1L << 30, shape.tensorBytes());
    assertEquals(64L << 20, shape.pageSetBytes());
  }

  @Test
  void slotStrideRoundsUpToWholePages() {
    KvCacheShape shape = KvCacheShape.llama32OneB(4, 3000, 2L << 20);
    assertEquals(2, shape.pageSetsPerSlot());
    assertEquals(4L << 20, shape.slotStrideBytes());
  }

  @Test
  void rejectsTokensThatStraddlePages() {
    assertThrows(IllegalArgumentException.class, () -> new KvCacheShape(1, 3, 64, 2, 4, 128, 2L << 20));
    assertThrows(IllegalArgumentException.class, () -> new KvCacheShape(0, 8, 64, 2, 4, 128, 2L << 20));
  }
}
