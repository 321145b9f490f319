package org.sparkllm.backend.megakernel;

/**
 * One instruction of an SM's stream, encoded as {@link #WORDS} ints (mk_common.cuh reads the same
 * layout). Matvec instructions use the tile fields, attention the row/head/split fields, norms the row;
 * -1 means "no counter".
 *
 * @param firstTile first 16-row tile of the matrix
 * @param tileCount tiles, consecutive (matvec); (attention) batch rows from {@code row}: 1, or 2 when the
 *     rows have one context split each and each half of the block serves one of them, with no arrival
 * @param row batch row (attention: the first, norms)
 * @param kvHead KV head whose group the query heads belong to (attention)
 * @param headBegin first query head (attention)
 * @param headCount query heads, at most {@link StreamBuilder#MAX_HEADS} (attention)
 * @param split index of this instruction among the {@code arriveCount} that share (row, head chunk): it
 *     takes the context splits [split · splits / arriveCount, (split + 1) · splits / arriveCount) (attention)
 * @param splits (attention) context splits of (row, head chunk), the CUDA-graph path's count, so both sum
 *     keys in the same order; (matvec) K parts the graph path's matvec sums each row over separately
 *     before adding them in order, which the megakernel copies for the same reason
 * @param waitOn counter to wait for before starting, or -1
 * @param waitCount producers of {@code waitOn} per step: the wait ends at (epoch + 1) · waitCount
 * @param signal counter to add 1 to when done, or -1
 * @param arrive arrival counter whose last arriver finishes a group's work (attention merge, argmax), or -1
 * @param arriveCount arrivals at {@code arrive} per step
 * @param partial index of this instruction's slot among the LM-head argmax partials
 * @param firstChunk (matvec) first 512-column chunk of K it sums over: one page of each of its tiles
 * @param chunkCount (matvec) chunks it sums over, from {@code firstChunk}
 * @param piece (tensor-core O_PROJ and DOWN) which K piece of the residual's addend it stores
 * @param pieces (norms) K pieces of the phase before to add to the residual first; 0 for none
 */
public record Instruction(Opcode op, int layer, int firstTile, int tileCount, int row, int kvHead, int headBegin,
    int headCount, int split, int splits, int waitOn, int waitCount, int signal, int arrive, int arriveCount,
    int partial, int firstChunk, int chunkCount, int piece, int pieces) {
  public static final int WORDS = 20;

  /** Tiles [firstTile, firstTile + tileCount) over K chunks [firstChunk, firstChunk + chunkCount). */
  static Instruction matvec(Opcode op, int layer, int firstTile, int tileCount, int firstChunk, int chunkCount,
      int piece, int kParts, int wait, int waitCount, int signal) {
    return new Instruction(op, layer, firstTile, tileCount, 0, 0, 0, 0, 0, kParts, wait, waitCount, signal, -1, 0,
        0, firstChunk, chunkCount, piece, 0);
  }

  static Instruction attention(int layer, int row, int kvHead, int headBegin, int headCount, int split, int splits,
      int shares, int wait, int waitCount, int signal, int arrive) {
    return new Instruction(Opcode.ATTENTION, layer, 0, 1, row, kvHead, headBegin, headCount, split, splits, wait,
        waitCount, signal, arrive, shares, 0, 0, 0, 0, 0);
  }

  /** Attention of rows {@code row} and {@code row + 1}, one context split each, one per half of the block. */
  static Instruction attentionPair(int layer, int row, int kvHead, int headBegin, int headCount, int wait,
      int waitCount, int signal) {
    return new Instruction(Opcode.ATTENTION, layer, 0, 2, row, kvHead, headBegin, headCount, 0, 1, wait, waitCount,
        signal, -1, 1, 0, 0, 0, 0, 0);
  }

  /** Attention: the batch rows it serves, from {@link #row}. */
  public int rows() {
    return tileCount;
  }

  static Instruction sample(int row, int wait, int waitCount) {
    return new Instruction(Opcode.SAMPLE, 0, 0, 0, row, 0, 0, 0, 0, 0, wait, waitCount, -1, -1, 0, 0, 0, 0, 0, 0);
  }

  /** Attention: the first context split this instruction takes. */
  public int firstSplit() {
    return (int) ((long) split * splits / arriveCount);
  }

  /** Attention: one past the last context split this instruction takes. */
  public int endSplit() {
    return (int) ((long) (split + 1) * splits / arriveCount);
  }

  /** RMSNorm of {@code row}, after adding the {@code pieces} K pieces the phase before stored. */
  static Instruction norm(Opcode op, int layer, int row, int pieces, int wait, int waitCount, int signal) {
    return new Instruction(op, layer, 0, 0, row, 0, 0, 0, 0, 0, wait, waitCount, signal, -1, 0, 0, 0, 0, 0, pieces);
  }

  Instruction withArrival(int arrive, int arriveCount, int partial) {
    return new Instruction(op, layer, firstTile, tileCount, row, kvHead, headBegin, headCount, split, splits, waitOn,
        waitCount, signal, arrive, arriveCount, partial, firstChunk, chunkCount, piece, pieces);
  }

  public int phase(int layers) {
    return op.phase(layer, layers);
  }

  /** Pages the loader streams for it (attention streams none). */
  public int pages() {
    return op.matrix() == null ? 0 : tileCount * chunkCount;
  }

  void encode(int[] out, int at) {
    int[] w = {op.code(), layer, firstTile, tileCount, row, kvHead, headBegin, headCount, split, splits, waitOn,
        waitCount, signal, arrive, arriveCount, partial, firstChunk, chunkCount, piece, pieces};
    System.arraycopy(w, 0, out, at, WORDS);
  }
}
