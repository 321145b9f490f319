package org.sparkllm.backend.megakernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

class InstructionTimingsTest {

  @Test
  void splitsEachInstructionIntoItsPhasesAndPadsNothingIntoTheTotals() {
    Instruction qkv = Instruction.matvec(Opcode.QKV, 0, 0, 2, 0, 4, 0, 1, -1, 0, 0);
    Instruction attention = Instruction.attention(0, 0, 0, 0, 1, 0, 1, 1, 0, 1, 1, -1);
    // Block 0 runs QKV then attention, block 1 a second QKV; the stride (2) leaves block 1 a padding record.
    InstructionStreams streams = new InstructionStreams(StreamBuilderTest.TINY, 1,
        List.of(List.of(qkv, attention), List.of(qkv)), new int[] {1, 1}, 1, 0);
    ByteBuffer raw = ByteBuffer.allocate(4 * 8 * InstructionTimings.WORDS).order(ByteOrder.LITTLE_ENDIAN);
    // start, ready, staged, computed, end, page wait, epilogue, loader's ring-full wait (ns)
    put(raw, 0, 1000, 1500, 2500, 9500, 10500, 3000, 1000, 4000);
    put(raw, 1, 10500, 12500, 12500, 17500, 18000, 0, 0, 0);
    put(raw, 2, 900, 1100, 2100, 7100, 7600, 1000, 2000, 500);
    put(raw, 3, -1, -1, -1, -1, -1, -1, -1, -1); // block 1's unused record: must not count

    InstructionTimings timings = new InstructionTimings();
    timings.add(streams, raw, 2);

    InstructionTimings.Totals q = timings.perOpcode().get(Opcode.QKV);
    assertEquals(2, q.instructions());
    assertEquals(0.5 + 0.2, q.waitMicros(), 1e-9);
    assertEquals(1.0 + 1.0, q.stageMicros(), 1e-9);
    assertEquals(3.0 + 1.0, q.pageWaitMicros(), 1e-9);
    assertEquals((7.0 - 3.0 - 1.0) + (5.0 - 1.0 - 2.0), q.computeMicros(), 1e-9);
    assertEquals(1.0 + 2.0, q.epilogueMicros(), 1e-9);
    assertEquals(1.0 + 0.5, q.signalMicros(), 1e-9);
    assertEquals((1.0 + 1.0) + (2.0 + 0.5), q.storeMicros(), 1e-9);
    assertEquals(9.0 + 6.5, q.workMicros(), 1e-9);
    assertEquals(4.0 + 0.5, q.ringFullMicros(), 1e-9);
    InstructionTimings.Totals a = timings.perOpcode().get(Opcode.ATTENTION);
    assertEquals(2.0, a.waitMicros(), 1e-9);
    assertEquals(5.0, a.computeMicros(), 1e-9);
    assertEquals(0.0, a.epilogueMicros(), 1e-9);
    assertEquals(0.5, a.signalMicros(), 1e-9);
    assertEquals(0.0, a.ringFullMicros(), 1e-9);
    assertTrue(timings.toString().contains("in-kernel step span: 17.1 us over 1 steps"), timings.toString());
  }

  private static void put(ByteBuffer raw, int record, long... words) {
    for (int k = 0; k < words.length; k++) {
      raw.putLong((record * InstructionTimings.WORDS + k) * 8, words[k]);
    }
  }
}
