package org.sparkllm.backend.megakernel;

import java.nio.ByteBuffer;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Sums the kernel's per-instruction timestamps (before the dependency wait, after it, after the signal;
 * %globaltimer nanoseconds) per opcode over the steps recorded: where a step's time goes.
 */
public final class InstructionTimings {
  /** Totals over every block and recorded step. */
  public record Totals(long instructions, double waitMicros, double workMicros) {}

  private final Map<Opcode, long[]> totals = new EnumMap<>(Opcode.class); // count, wait ns, work ns
  private long steps;
  private double stepMicros;

  /** Adds one step: {@code raw} holds [block][streamLength][3] timestamps, little-endian longs. */
  void add(InstructionStreams streams, ByteBuffer raw, int stride) {
    long first = Long.MAX_VALUE;
    long last = Long.MIN_VALUE;
    for (int b = 0; b < streams.blocks(); b++) {
      List<Instruction> stream = streams.streams().get(b);
      for (int i = 0; i < stream.size(); i++) {
        int at = ((b * stride) + i) * 3 * 8;
        long start = raw.getLong(at);
        long ready = raw.getLong(at + 8);
        long end = raw.getLong(at + 16);
        long[] t = totals.computeIfAbsent(stream.get(i).op(), k -> new long[3]);
        t[0]++;
        t[1] += ready - start;
        t[2] += end - ready;
        first = Math.min(first, start);
        last = Math.max(last, end);
      }
    }
    steps++;
    stepMicros += (last - first) / 1e3;
  }

  public Map<Opcode, Totals> perOpcode() {
    Map<Opcode, Totals> out = new EnumMap<>(Opcode.class);
    totals.forEach((op, t) -> out.put(op, new Totals(t[0], t[1] / 1e3, t[2] / 1e3)));
    return out;
  }

  public long steps() {
    return steps;
  }

  /** Per opcode: instructions, and mean wait and work per instruction; then the mean in-kernel step span. */
  @Override
  public String toString() {
    StringBuilder s = new StringBuilder(String.format("%-10s %12s %14s %14s%n", "opcode", "instructions",
        "wait us/instr", "work us/instr"));
    perOpcode().forEach((op, t) -> s.append(String.format("%-10s %12d %14.2f %14.2f%n", op, t.instructions(),
        t.waitMicros() / t.instructions(), t.workMicros() / t.instructions())));
    s.append(String.format("in-kernel step span: %.1f us over %d steps%n", steps == 0 ? 0 : stepMicros / steps,
        steps));
    return s.toString();
  }
}
