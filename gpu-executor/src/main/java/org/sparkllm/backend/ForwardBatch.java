package org.sparkllm.backend;

import java.util.List;

/**
 * One engine step's work: a prefill chunk or a single decode token for each scheduled sequence.
 * Prefill and decode are the same thing here: {@code tokens} go at positions
 * {@code startPosition, startPosition + 1, ...} of the slot's sequence.
 */
public record ForwardBatch(List<Chunk> chunks) {

  /**
   * @param slot the KV-cache slot holding the sequence's keys and values
   * @param startPosition how many tokens of this sequence the cache already holds
   * @param wantLogits whether the logits of the last token are needed (only at the end of a prompt
   *     or for a decode token; intermediate prefill chunks skip the LM head)
   */
  public record Chunk(int slot, int startPosition, int[] tokens, boolean wantLogits) {}

  public int totalTokens() {
    int n = 0;
    for (Chunk c : chunks) {
      n += c.tokens().length;
    }
    return n;
  }
}
