package org.sparkllm.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LlamaConfigTest {
  @Test
  void equalityComparesEosIdsByContent() {
    LlamaConfig a = config(new int[] {1, 2});
    LlamaConfig b = config(new int[] {1, 2});

    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertNotEquals(a, config(new int[] {1, 3}));
    assertTrue(a.toString().endsWith("eosTokenIds=[1, 2]]"), a.toString());
  }

  private static LlamaConfig config(int[] eos) {
    return new LlamaConfig(64, 2, 4, 2, 16, 128, 100, 256, 1e-5, 1e4, null, true, 0, eos);
  }
}
