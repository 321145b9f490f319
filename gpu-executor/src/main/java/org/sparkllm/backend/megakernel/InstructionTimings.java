package org.sparkllm.backend.megakernel;

import java.nio.ByteBuffer;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Sums the kernel's per-instruction timing records per opcode over the steps recorded: where a step's
 * time goes. Each record is {@link #WORDS} little-endian longs written by consumer thread 0 of the block
 * (mk_common.cuh, {@code TimingWord}): %globaltimer nanoseconds at the start, when the dependency is met,
 * when the inputs are staged, when the last tile is computed and after the signal; then the nanoseconds
 * spent waiting for weight pages and in epilogues; then the nanoseconds the loader warp waited for a free ring
 * page before copying the instruction's weights (the ring held pages not yet taken: the block fetched nothing
 * new but its last few copies in flight). An instruction's time splits into
 * <ul>
 *   <li>dependency wait: start to ready;
 *   <li>staging: ready to staged (the activations into shared memory, RMSNorm included; for the flagged residual,
 *       the wait for words the counter ran ahead of);
 *   <li>page wait: waiting for weight pages to land;
 *   <li>compute: staged to computed less the page waits and epilogues (attention: all of its time);
 *   <li>epilogue: thread 0's own epilogues (its stores of the results);
 *   <li>barrier and signal: computed to end: the consumer barrier (waiting for the block's slowest warp), the
 *       fence and the counter's add, and the LM head's argmax publish.
 * </ul>
 * The loader's ring-full time is reported beside them: it overlaps the consumers' time of earlier instructions.
 */
public final class InstructionTimings {
  /** Longs per instruction record. */
  static final int WORDS = 8;

  private static final int START = 0, READY = 1, STAGED = 2, COMPUTED = 3, END = 4, PAGE_WAIT = 5, EPILOGUE = 6,
      RING_FULL = 7;

  /**
   * Totals over every block and recorded step, in microseconds; {@code waitMicros}: the dependency wait;
   * {@code ringFullMicros}: the loader's wait for a free page before this instruction's weights.
   */
  public record Totals(long instructions, double waitMicros, double stageMicros, double pageWaitMicros,
      double computeMicros, double epilogueMicros, double signalMicros, double ringFullMicros) {
    /** The epilogues, the barrier and the signal. */
    public double storeMicros() {
      return epilogueMicros + signalMicros;
    }

    /** Everything after the dependency wait. */
    public double workMicros() {
      return stageMicros + pageWaitMicros + computeMicros + storeMicros();
    }
  }

  // count, 6 phases, ring full (ns)
  private final Map<Opcode, long[]> totals = new EnumMap<>(Opcode.class);
  private long steps;
  private double stepMicros;

  /** Adds one step: {@code raw} holds [block][stride][{@link #WORDS}] records. */
  void add(InstructionStreams streams, ByteBuffer raw, int stride) {
    long first = Long.MAX_VALUE;
    long last = Long.MIN_VALUE;
    for (int b = 0; b < streams.blocks(); b++) {
      List<Instruction> stream = streams.streams().get(b);
      for (int i = 0; i < stream.size(); i++) {
        int at = (b * stride + i) * WORDS * 8;
        long[] w = new long[WORDS];
        for (int k = 0; k < WORDS; k++) {
          w[k] = raw.getLong(at + 8 * k);
        }
        long[] t = totals.computeIfAbsent(stream.get(i).op(), k -> new long[8]);
        t[0]++;
        t[1] += w[READY] - w[START];
        t[2] += w[STAGED] - w[READY];
        t[3] += w[PAGE_WAIT];
        t[4] += w[COMPUTED] - w[STAGED] - w[PAGE_WAIT] - w[EPILOGUE];
        t[5] += w[EPILOGUE];
        t[6] += w[END] - w[COMPUTED];
        t[7] += w[RING_FULL];
        first = Math.min(first, w[START]);
        last = Math.max(last, w[END]);
      }
    }
    steps++;
    stepMicros += (last - first) / 1e3;
  }

  public Map<Opcode, Totals> perOpcode() {
    Map<Opcode, Totals> out = new EnumMap<>(Opcode.class);
    totals.forEach((op, t) -> out.put(op, new Totals(t[0], t[1] / 1e3, t[2] / 1e3, t[3] / 1e3, t[4] / 1e3,
        t[5] / 1e3, t[6] / 1e3, t[7] / 1e3)));
    return out;
  }

  /** Forgets every step added so far (to time another batch size on the same backend). */
  public void clear() {
    totals.clear();
    steps = 0;
    stepMicros = 0;
  }

  public long steps() {
    return steps;
  }

  /** Per opcode: instructions, and the mean of each phase per instruction; then the mean in-kernel step span. */
  @Override
  public String toString() {
    StringBuilder s = new StringBuilder(String.format("%-10s %12s   %s%n", "opcode", "instructions",
        "us per instruction: dependency wait / staging / page wait / compute / epilogue / barrier + signal"
            + " | loader: ring full"));
    perOpcode().forEach((op, t) -> {
      double n = t.instructions();
      s.append(String.format("%-10s %12d   %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f | %8.2f%n", op, t.instructions(),
          t.waitMicros() / n, t.stageMicros() / n, t.pageWaitMicros() / n, t.computeMicros() / n,
          t.epilogueMicros() / n, t.signalMicros() / n, t.ringFullMicros() / n));
    });
    s.append(String.format("in-kernel step span: %.1f us over %d steps%n", steps == 0 ? 0 : stepMicros / steps,
        steps));
    return s.toString();
  }
}
