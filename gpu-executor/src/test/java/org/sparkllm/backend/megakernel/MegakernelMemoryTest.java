package org.sparkllm.backend.megakernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** What the megakernel reserves out of the KV cache's share of device memory. */
class MegakernelMemoryTest {
  @Test
  void theTiledWeightsOfTheLlama1BShapeAreItsMatricesAndLmHeadInWholeTiles() {
    ModelDims d = StreamBuilderTest.LLAMA_1B;
    long layer = 2L * 2048 * (3072 + 2048 + 16384) + 2L * 2048 * 8192;
    long lmHead = 2L * 128256 * 2048; // 8,016 whole tiles
    assertEquals(16 * layer + lmHead, MegakernelWeights.tiledBytes(d));
  }

  @Test
  void theReserveCoversTheTiledWeightsAndTheBuffersOfTheLargestBucket() {
    ModelDims d = StreamBuilderTest.LLAMA_1B;
    long eightRows = MegakernelBackend.reservedBytes(d, 8);
    long allRows = MegakernelBackend.reservedBytes(d, 256);
    assertTrue(eightRows > MegakernelWeights.tiledBytes(d) + 4L * 8 * d.vocab(), "logits of 8 rows at least");
    // 256 rows add their fp32 logits (131 MB for this vocabulary) and the rest of the per-row buffers.
    assertTrue(allRows - eightRows > 4L * 248 * d.vocab(), "256 rows reserve more: " + (allRows - eightRows));
    assertEquals(MegakernelBackend.reservedBytes(d, 5), eightRows, "5 rows use the 8-row bucket");
  }
}
