package org.sparkllm.backend.megakernel;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/** Properties every bucket's streams must have, checked without a GPU. */
final class StreamChecks {
  private StreamChecks() {}

  private record Node(int block, int position, Instruction instruction) {}

  /**
   * Every pair of conflicting accesses in different phases is ordered by happens-before (program order
   * within a block, counter from every producer to every waiter); accesses in the same phase never
   * conflict, except the splits of one attention group, which the arrival counter orders. Returns the
   * violations, empty when none.
   */
  static List<String> unorderedConflicts(InstructionStreams s) {
    int layers = s.dims().layers();
    List<Node> nodes = new ArrayList<>();
    for (int b = 0; b < s.blocks(); b++) {
      for (int p = 0; p < s.streams().get(b).size(); p++) {
        nodes.add(new Node(b, p, s.streams().get(b).get(p)));
      }
    }
    // Every edge goes to a later phase or to a later position of the same block: this order is topological.
    nodes.sort(Comparator.<Node>comparingInt(n -> n.instruction().phase(layers)).thenComparingInt(Node::position));
    int n = nodes.size();
    BitSet[] before = new BitSet[n]; // before[i]: nodes that happen before node i
    BitSet[] signalled = new BitSet[s.counters()]; // nodes that happen before (or are) a producer of the counter
    BitSet[] lastOfBlock = new BitSet[s.blocks()];
    int[] lastIndexOfBlock = new int[s.blocks()];
    java.util.Arrays.fill(lastIndexOfBlock, -1);
    for (int c = 0; c < signalled.length; c++) {
      signalled[c] = new BitSet(n);
    }
    // Waiters need every producer of their counter: process phases in order, publishing a phase's
    // producers only after the whole phase was visited (producers and waiters never share a phase).
    int i = 0;
    while (i < n) {
      int phase = nodes.get(i).instruction().phase(layers);
      int end = i;
      while (end < n && nodes.get(end).instruction().phase(layers) == phase) {
        end++;
      }
      for (int k = i; k < end; k++) {
        Node node = nodes.get(k);
        BitSet set = new BitSet(n);
        int previous = lastIndexOfBlock[node.block()];
        if (previous >= 0) {
          set.or(before[previous]);
          set.set(previous);
        }
        if (node.instruction().waitOn() >= 0) {
          set.or(signalled[node.instruction().waitOn()]);
        }
        before[k] = set;
        lastIndexOfBlock[node.block()] = k;
      }
      for (int k = i; k < end; k++) {
        int signal = nodes.get(k).instruction().signal();
        if (signal >= 0) {
          signalled[signal].or(before[k]);
          signalled[signal].set(k);
        }
      }
      i = end;
    }
    java.util.Map<DataAccesses.Buffer, List<int[]>> byBuffer = new java.util.EnumMap<>(DataAccesses.Buffer.class);
    List<List<DataAccesses.Access>> accesses = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      List<DataAccesses.Access> list = DataAccesses.of(nodes.get(k).instruction(), s.dims(), s.rows());
      accesses.add(list);
      for (int j = 0; j < list.size(); j++) {
        byBuffer.computeIfAbsent(list.get(j).buffer(), x -> new ArrayList<>()).add(new int[] {k, j});
      }
    }
    List<String> problems = new ArrayList<>();
    for (List<int[]> list : byBuffer.values()) {
      for (int p = 0; p < list.size() && problems.size() < 10; p++) {
        int a = list.get(p)[0];
        DataAccesses.Access xa = accesses.get(a).get(list.get(p)[1]);
        Instruction x = nodes.get(a).instruction();
        for (int q = p + 1; q < list.size() && problems.size() < 10; q++) {
          int b = list.get(q)[0];
          if (b == a || !xa.conflicts(accesses.get(b).get(list.get(q)[1]))) {
            continue;
          }
          Instruction y = nodes.get(b).instruction();
          int first = Math.min(a, b);
          int second = Math.max(a, b);
          if (x.phase(layers) == y.phase(layers)) {
            boolean sameMerge = x.op() == Opcode.ATTENTION && x.arrive() == y.arrive();
            if (!sameMerge) {
              problems.add("same-phase conflict: " + x + " and " + y);
            }
          } else if (!before[second].get(first)) {
            problems.add(nodes.get(first).instruction() + " does not happen before " + nodes.get(second).instruction());
          }
        }
      }
    }
    return problems;
  }

  /**
   * Runs {@code steps} steps of the streams as blocks that each execute in order and wait on counters
   * for {@code (epoch + 1) · waitCount}, picking the next block at random. Returns null when every
   * step completes and leaves every counter at {@code steps · producersPerStep}, else what went wrong.
   */
  static String simulate(InstructionStreams s, int steps, long seed) {
    long[] counters = new long[s.counters()];
    Random random = new Random(seed);
    for (int epoch = 0; epoch < steps; epoch++) {
      int[] next = new int[s.blocks()];
      int remaining = s.instructionCount();
      while (remaining > 0) {
        List<Integer> ready = new ArrayList<>();
        for (int b = 0; b < s.blocks(); b++) {
          List<Instruction> stream = s.streams().get(b);
          if (next[b] < stream.size()) {
            Instruction i = stream.get(next[b]);
            if (i.waitOn() < 0 || counters[i.waitOn()] >= (long) (epoch + 1) * i.waitCount()) {
              ready.add(b);
            }
          }
        }
        if (ready.isEmpty()) {
          return "deadlock in step " + epoch + " with " + remaining + " instructions left";
        }
        int b = ready.get(random.nextInt(ready.size()));
        Instruction i = s.streams().get(b).get(next[b]++);
        remaining--;
        if (i.signal() >= 0) {
          counters[i.signal()]++;
        }
        if (i.arrive() >= 0) {
          counters[i.arrive()]++;
        }
      }
      for (int c = 0; c < counters.length; c++) {
        if (counters[c] != (long) (epoch + 1) * s.producersPerStep()[c]) {
          return "counter " + c + " is " + counters[c] + " after step " + epoch + ", expected "
              + (long) (epoch + 1) * s.producersPerStep()[c];
        }
      }
    }
    return null;
  }
}
