package org.sparkllm.backend.megakernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.ForwardBatch.Chunk;

class ContinuationTest {
  private static final ForwardBatch STEP =
      new ForwardBatch(List.of(new Chunk(4, 10, new int[] {7}, true), new Chunk(1, 3, new int[] {8}, true),
          new Chunk(9, 50, new int[] {9}, true)));
  private static final Continuation NEXT = Continuation.after(STEP, new int[] {70, 80, 90});

  private static Chunk decode(int slot, int position, int token) {
    return new Chunk(slot, position, new int[] {token}, true);
  }

  @Test
  void theWholeNextStepMapsRowForRow() {
    ForwardBatch next = new ForwardBatch(List.of(decode(4, 11, 70), decode(1, 4, 80), decode(9, 51, 90)));
    assertArrayEquals(new int[] {0, 1, 2}, NEXT.rowsOf(next));
  }

  @Test
  void rowsThatFinishedMayDropOutIfTheOthersKeepTheirOrder() {
    assertArrayEquals(new int[] {0, 2}, NEXT.rowsOf(new ForwardBatch(List.of(decode(4, 11, 70), decode(9, 51, 90)))));
    assertArrayEquals(new int[] {1}, NEXT.rowsOf(new ForwardBatch(List.of(decode(1, 4, 80)))));
    assertNull(NEXT.rowsOf(new ForwardBatch(List.of(decode(9, 51, 90), decode(4, 11, 70)))), "reordered");
  }

  @Test
  void anythingElseIsNotTheContinuation() {
    assertNull(NEXT.rowsOf(new ForwardBatch(List.of(decode(4, 11, 71)))), "another token");
    assertNull(NEXT.rowsOf(new ForwardBatch(List.of(decode(4, 12, 70)))), "another position");
    assertNull(NEXT.rowsOf(new ForwardBatch(List.of(decode(4, 11, 70), decode(5, 0, 3)))), "a new sequence");
    assertNull(NEXT.rowsOf(new ForwardBatch(List.of(new Chunk(4, 11, new int[] {70, 71}, true)))), "two tokens");
    assertNull(NEXT.rowsOf(new ForwardBatch(List.of(new Chunk(4, 11, new int[] {70}, false)))), "no logits");
    assertNull(NEXT.rowsOf(new ForwardBatch(List.of())), "empty");
  }

  @Test
  void aChunkOfAMixedBatchIsARowOfTheContinuationOnlyIfItIsThatRowsNextToken() {
    assertEquals(2, NEXT.rowOf(decode(9, 51, 90)));
    assertEquals(0, NEXT.rowOf(decode(4, 11, 70)));
    assertEquals(-1, NEXT.rowOf(decode(9, 51, 91)), "another token");
    assertEquals(-1, NEXT.rowOf(decode(9, 50, 90)), "another position");
    assertEquals(-1, NEXT.rowOf(decode(5, 0, 90)), "another slot");
    assertEquals(-1, NEXT.rowOf(new Chunk(4, 11, new int[] {70, 71}, true)), "a prefill");
  }

  @Test
  void theHostWritesTheNextPositionsBeforeItKnowsTheTokens() {
    ForwardBatch ahead = Continuation.nextPositions(STEP);
    assertArrayEquals(new int[] {11, 4, 51},
        ahead.chunks().stream().mapToInt(Chunk::startPosition).toArray());
    assertArrayEquals(new int[] {4, 1, 9}, ahead.chunks().stream().mapToInt(Chunk::slot).toArray());
  }
}
