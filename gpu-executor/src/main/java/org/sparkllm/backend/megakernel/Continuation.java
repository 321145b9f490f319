package org.sparkllm.backend.megakernel;

import java.util.ArrayList;
import java.util.List;
import org.sparkllm.backend.ForwardBatch;

/**
 * The decode step that follows a step when its sequences go on: the same slots in the same order, each one
 * position further, fed the token the step picked. The backend launches it before the caller asks
 * ({@link MegakernelBackend}), and uses it when the caller's next batch is that step or keeps some of its
 * rows in order (sequences that finished dropped out).
 */
final class Continuation {
  private final int[] slots;
  private final int[] positions;
  private final int[] tokens;

  private Continuation(int[] slots, int[] positions, int[] tokens) {
    this.slots = slots;
    this.positions = positions;
    this.tokens = tokens;
  }

  /** The step after {@code batch} (single-token chunks) whose rows picked {@code picked}. */
  static Continuation after(ForwardBatch batch, int[] picked) {
    List<ForwardBatch.Chunk> chunks = batch.chunks();
    if (picked.length != chunks.size()) {
      throw new IllegalArgumentException(picked.length + " tokens for " + chunks.size() + " rows");
    }
    int[] slots = new int[chunks.size()];
    int[] positions = new int[chunks.size()];
    for (int r = 0; r < slots.length; r++) {
      slots[r] = chunks.get(r).slot();
      positions[r] = chunks.get(r).startPosition() + 1;
    }
    return new Continuation(slots, positions, picked.clone());
  }

  /**
   * The step after {@code batch} as the host can write it before its tokens are known: every row one
   * position further, token 0 in place of the one the device copies in.
   */
  static ForwardBatch nextPositions(ForwardBatch batch) {
    List<ForwardBatch.Chunk> chunks = new ArrayList<>(batch.chunks().size());
    for (ForwardBatch.Chunk c : batch.chunks()) {
      chunks.add(new ForwardBatch.Chunk(c.slot(), c.startPosition() + 1, new int[] {0}, true));
    }
    return new ForwardBatch(chunks);
  }

  /** The continuation's row that {@code chunk} is (same slot, position and a single token equal to its), or -1. */
  int rowOf(ForwardBatch.Chunk chunk) {
    return rowFrom(chunk, 0);
  }

  /**
   * Where each row of {@code batch} is among this continuation's rows, or null unless every row of
   * {@code batch} is one of them ({@link #rowOf}) and they keep their order. One pass over the rows.
   */
  int[] rowsOf(ForwardBatch batch) {
    List<ForwardBatch.Chunk> chunks = batch.chunks();
    if (chunks.isEmpty() || chunks.size() > slots.length) {
      return null;
    }
    int[] at = new int[chunks.size()];
    for (int i = 0, from = 0; i < at.length; from = at[i++] + 1) {
      at[i] = rowFrom(chunks.get(i), from);
      if (at[i] < 0) {
        return null;
      }
    }
    return at;
  }

  /** {@link #rowOf}, looking at rows {@code from} onwards only (slots are distinct, so the first match decides). */
  private int rowFrom(ForwardBatch.Chunk chunk, int from) {
    if (chunk.tokens().length != 1 || !chunk.wantLogits()) {
      return -1;
    }
    for (int r = from; r < slots.length; r++) {
      if (slots[r] == chunk.slot()) {
        return positions[r] == chunk.startPosition() && tokens[r] == chunk.tokens()[0] ? r : -1;
      }
    }
    return -1;
  }
}
