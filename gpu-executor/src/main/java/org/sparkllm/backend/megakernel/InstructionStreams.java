package org.sparkllm.backend.megakernel;

import java.util.List;

/**
 * The per-SM instruction streams of one batch bucket, and the counters they synchronise through.
 *
 * @param dims the model
 * @param rows the bucket: batch rows the streams serve
 * @param streams one list per block (SM), in execution order
 * @param producersPerStep for each counter, the additions it receives per step (a wait counter's
 *     producers, an arrival counter's arrivals)
 * @param attentionShares attention instructions per (row, head chunk), sharing out its context splits
 * @param lmPartials LM-head instructions: slots of per-block argmax partials
 */
public record InstructionStreams(ModelDims dims, int rows, List<List<Instruction>> streams, int[] producersPerStep,
    int attentionShares, int lmPartials) {

  public int blocks() {
    return streams.size();
  }

  public int counters() {
    return producersPerStep.length;
  }

  /** The largest per-step increment of any counter: it bounds how many epochs fit in 32 bits. */
  public int maxProducersPerStep() {
    int max = 1;
    for (int p : producersPerStep) {
      max = Math.max(max, p);
    }
    return max;
  }

  public int longestStream() {
    int max = 0;
    for (List<Instruction> s : streams) {
      max = Math.max(max, s.size());
    }
    return max;
  }

  public int instructionCount() {
    int n = 0;
    for (List<Instruction> s : streams) {
      n += s.size();
    }
    return n;
  }

  /**
   * The device image: {@code blocks + 1} stream offsets (in instructions) padded to a multiple of 4
   * ints, then every instruction's {@link Instruction#WORDS} ints, block after block.
   */
  public int[] encode() {
    int header = (blocks() + 1 + 3) / 4 * 4;
    int[] out = new int[header + Instruction.WORDS * instructionCount()];
    int at = 0;
    for (int b = 0; b < blocks(); b++) {
      out[b] = at;
      for (Instruction i : streams.get(b)) {
        i.encode(out, header + Instruction.WORDS * at);
        at++;
      }
    }
    out[blocks()] = at;
    return out;
  }

  /** Ints before the first instruction in {@link #encode()}. */
  public int headerInts() {
    return (blocks() + 1 + 3) / 4 * 4;
  }
}
