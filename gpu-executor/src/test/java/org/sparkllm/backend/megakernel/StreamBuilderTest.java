package org.sparkllm.backend.megakernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Set;
import org.sparkllm.backend.cuda.AttentionKernels;
import org.sparkllm.backend.cuda.GemmKernels;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class StreamBuilderTest {
  static final ModelDims TINY = new ModelDims(128, 4, 4, 2, 32, 384, 512);
  static final ModelDims LLAMA_1B = new ModelDims(2048, 16, 32, 8, 64, 8192, 128256);
  /** The shape that is not Llama-3.2-1B: 3 layers, hidden 1536, 12 heads, 4 KV heads. */
  static final ModelDims ODD = new ModelDims(1536, 3, 12, 4, 128, 4096, 128256);
  static final ModelDims LLAMA_3B = new ModelDims(3072, 28, 24, 8, 128, 8192, 128256);
  /** Groups of 8 query heads: two head chunks per KV head. */
  static final ModelDims WIDE_GROUPS = new ModelDims(512, 2, 16, 2, 32, 1024, 1000);

  static Stream<Arguments> shapes() {
    List<Arguments> out = new ArrayList<>();
    for (ModelDims d : List.of(TINY, ODD, WIDE_GROUPS)) {
      for (int blocks : new int[] {1, 7, 132}) {
        for (int rows : new int[] {1, 2, 4, 8, 16, 64}) {
          out.add(Arguments.of(d, blocks, rows));
        }
      }
    }
    out.add(Arguments.of(TINY, 132, 32));
    out.add(Arguments.of(TINY, 132, 128));
    out.add(Arguments.of(TINY, 132, 256));
    out.add(Arguments.of(TINY, 7, 256));
    out.add(Arguments.of(LLAMA_1B, 132, 1));
    out.add(Arguments.of(LLAMA_1B, 132, 8));
    out.add(Arguments.of(LLAMA_1B, 132, 64));
    out.add(Arguments.of(LLAMA_1B, 132, 256));
    out.add(Arguments.of(LLAMA_3B, 132, 4));
    return out.stream();
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void streamsAreOrderedByPhaseAndWaitOnlyForEarlierPhases(ModelDims d, int blocks, int rows) {
    InstructionStreams s = StreamBuilder.build(d, blocks, rows);
    Map<Integer, Integer> phaseOfCounter = new HashMap<>();
    for (List<Instruction> stream : s.streams()) {
      for (Instruction i : stream) {
        if (i.signal() >= 0) {
          Integer previous = phaseOfCounter.put(i.signal(), i.phase(d.layers()));
          assertTrue(previous == null || previous == i.phase(d.layers()), "one phase signals counter " + i.signal());
        }
      }
    }
    for (List<Instruction> stream : s.streams()) {
      int phase = -1;
      for (Instruction i : stream) {
        assertTrue(i.phase(d.layers()) >= phase, "stream out of phase order at " + i);
        phase = i.phase(d.layers());
        if (i.waitOn() >= 0) {
          assertTrue(phaseOfCounter.get(i.waitOn()) < phase, i + " waits for a counter of its own or a later phase");
        }
      }
    }
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void countersReachTheirTargetsStepAfterStepWithoutDeadlock(ModelDims d, int blocks, int rows) {
    InstructionStreams s = StreamBuilder.build(d, blocks, rows);
    int[] signals = new int[s.counters()];
    int[] arrivals = new int[s.counters()];
    for (List<Instruction> stream : s.streams()) {
      for (Instruction i : stream) {
        if (i.signal() >= 0) {
          signals[i.signal()]++;
        }
        if (i.arrive() >= 0) {
          arrivals[i.arrive()]++;
        }
      }
    }
    for (List<Instruction> stream : s.streams()) {
      for (Instruction i : stream) {
        if (i.waitOn() >= 0) {
          assertEquals(signals[i.waitOn()], i.waitCount(), "wait target of " + i);
        }
        if (i.arrive() >= 0) {
          assertEquals(arrivals[i.arrive()], i.arriveCount(), "arrival target of " + i);
        }
      }
    }
    assertNull(StreamChecks.simulate(s, 3, 42));
  }

  /** The pairwise check is quadratic: the 28-layer shape and the 1B shape's large buckets are left to the others. */
  static Stream<Arguments> shapesForConflicts() {
    return shapes().filter(a -> a.get()[0] != LLAMA_3B && (a.get()[0] != LLAMA_1B || (int) a.get()[2] <= 8));
  }

  @ParameterizedTest
  @MethodSource("shapesForConflicts")
  void everyConflictingAccessIsOrderedByCountersOrProgramOrder(ModelDims d, int blocks, int rows) {
    List<String> problems = StreamChecks.unorderedConflicts(StreamBuilder.build(d, blocks, rows));
    assertTrue(problems.isEmpty(), String.join("\n", problems));
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void everyPageAttentionShareNormAndSampleIsComputedOncePerLayer(ModelDims d, int blocks, int rows) {
    InstructionStreams s = StreamBuilder.build(d, blocks, rows);
    Map<String, Integer> seen = new HashMap<>();
    for (List<Instruction> stream : s.streams()) {
      for (Instruction i : stream) {
        if (i.op().isNorm() || i.op() == Opcode.SAMPLE) {
          seen.merge(i.layer() + " " + i.op() + " row " + i.row(), 1, Integer::sum);
        } else if (i.op() == Opcode.ATTENTION) {
          for (int h = i.headBegin(); h < i.headBegin() + i.headCount(); h++) {
            assertEquals(i.kvHead(), h / d.group(), "head " + h + " belongs to KV head " + h / d.group());
            for (int r = i.row(); r < i.row() + i.rows(); r++) {
              seen.merge(i.layer() + " attention " + r + " " + h + " " + i.split(), 1, Integer::sum);
            }
          }
        } else {
          for (int t = i.firstTile(); t < i.firstTile() + i.tileCount(); t++) {
            for (int c = i.firstChunk(); c < i.firstChunk() + i.chunkCount(); c++) {
              seen.merge(i.layer() + " " + i.op() + " tile " + t + " chunk " + c, 1, Integer::sum);
            }
          }
        }
      }
    }
    int expected = 0;
    for (Opcode op : Opcode.values()) {
      int perLayer;
      if (op.isNorm()) {
        perLayer = rows > StreamBuilder.MAX_CUDA_CORE_ROWS ? rows : 0;
      } else if (op == Opcode.ATTENTION) {
        perLayer = rows * d.heads() * s.attentionShares();
      } else if (op == Opcode.SAMPLE) {
        perLayer = rows;
      } else {
        perLayer = TileLayout.tiles(op.matrix().rows(d)) * TileLayout.pagesPerTile(op.matrix().columns(d));
      }
      boolean once = op == Opcode.LM_HEAD || op == Opcode.NORM_FINAL || op == Opcode.SAMPLE;
      expected += once ? perLayer : perLayer * d.layers();
    }
    assertEquals(expected, seen.size());
    seen.forEach((k, v) -> assertEquals(1, v, k + " computed " + v + " times"));
  }

  static Stream<Arguments> plainResidualShapes() {
    return shapes().filter(a -> (int) a.get()[2] != MegakernelBuffers.FLAGGED_ROWS);
  }

  static Stream<Arguments> flaggedResidualShapes() {
    return shapes().filter(a -> (int) a.get()[2] == MegakernelBuffers.FLAGGED_ROWS);
  }

  /**
   * O_PROJ and DOWN only add to the fp32 residual (every bucket but the flagged one): layer 0's QKV (CUDA cores)
   * or attention norm (tensor cores) must have written all of it first.
   */
  @ParameterizedTest
  @MethodSource("plainResidualShapes")
  void layerZeroSeedsEveryResidualElementOnce(ModelDims d, int blocks, int rows) {
    int[][] writes = new int[rows][d.hidden()];
    for (List<Instruction> stream : StreamBuilder.build(d, blocks, rows).streams()) {
      for (Instruction i : stream) {
        if (i.layer() != 0 || (i.op() != Opcode.QKV && i.op() != Opcode.NORM_ATTENTION)) {
          continue;
        }
        for (DataAccesses.Access a : DataAccesses.of(i, d, rows)) {
          if (a.buffer() == DataAccesses.Buffer.RESIDUAL && a.write()) {
            for (int r = a.rowFrom(); r < a.rowTo(); r++) {
              for (int k = a.from(); k < a.to(); k++) {
                writes[r][k]++;
              }
            }
          }
        }
      }
    }
    for (int r = 0; r < rows; r++) {
      for (int k = 0; k < d.hidden(); k++) {
        assertEquals(1, writes[r][k], "residual element " + k + " of row " + r + " seeded " + writes[r][k] + " times");
      }
    }
  }

  /**
   * 1 row: the residual goes from O_PROJ and DOWN in flagged words; every flagged word an instruction reads is
   * written once in the step (else its reader would poll it until the watchdog gives up).
   */
  @ParameterizedTest
  @MethodSource("flaggedResidualShapes")
  void everyFlaggedWordThatIsReadIsWrittenOncePerStep(ModelDims d, int blocks, int rows) {
    InstructionStreams s = StreamBuilder.build(d, blocks, rows);
    Map<List<Integer>, int[]> writes = new HashMap<>(); // (layer, row) -> writes per column
    Set<DataAccesses.Access> reads = new java.util.HashSet<>(); // a phase's instructions often read the same words
    for (List<Instruction> stream : s.streams()) {
      for (Instruction i : stream) {
        for (DataAccesses.Access a : DataAccesses.of(i, d, rows)) {
          if (a.buffer() != DataAccesses.Buffer.FLAGGED_RESIDUAL) {
            continue;
          }
          if (!a.write()) {
            reads.add(a);
            continue;
          }
          for (int r = a.rowFrom(); r < a.rowTo(); r++) {
            int[] columns = writes.computeIfAbsent(List.of(a.layer(), r), k -> new int[2 * d.hidden()]);
            for (int k = a.from(); k < a.to(); k++) {
              columns[k]++;
            }
          }
        }
      }
    }
    assertFalse(reads.isEmpty(), "the hand-offs are flagged");
    for (DataAccesses.Access a : reads) {
      for (int r = a.rowFrom(); r < a.rowTo(); r++) {
        int[] columns = writes.get(List.of(a.layer(), r));
        for (int k = a.from(); k < a.to(); k++) {
          int count = columns == null ? 0 : columns[k];
          assertEquals(1, count, "flagged word " + k + " of layer " + a.layer() + ", row " + r + " is written " + count
              + " times");
        }
      }
    }
  }

  /** Tensor-core buckets: QKV, GATE_UP and LM_HEAD wait for a norm of every row, and only for that. */
  @ParameterizedTest
  @MethodSource("shapes")
  void tensorCoreMatvecsWaitForTheirNormPhase(ModelDims d, int blocks, int rows) {
    InstructionStreams s = StreamBuilder.build(d, blocks, rows);
    Map<Integer, Opcode> signaller = new HashMap<>();
    s.streams().forEach(stream -> stream.forEach(i -> {
      if (i.signal() >= 0) {
        signaller.put(i.signal(), i.op());
      }
    }));
    Map<Opcode, Opcode> normBefore = Map.of(Opcode.QKV, Opcode.NORM_ATTENTION, Opcode.GATE_UP, Opcode.NORM_MLP,
        Opcode.LM_HEAD, Opcode.NORM_FINAL);
    boolean tensorCores = rows > StreamBuilder.MAX_CUDA_CORE_ROWS;
    for (List<Instruction> stream : s.streams()) {
      for (Instruction i : stream) {
        Opcode norm = normBefore.get(i.op());
        if (norm == null || i.waitOn() < 0) {
          assertTrue(norm == null || (!tensorCores && i.layer() == 0 && i.op() == Opcode.QKV), i + " waits for nothing");
          continue;
        }
        Opcode waitedFor = signaller.get(i.waitOn());
        if (tensorCores) {
          assertEquals(norm, waitedFor, i + " waits for its norm phase");
          assertEquals(rows, i.waitCount(), i + " waits for a norm of every row");
        } else {
          assertFalse(waitedFor.isNorm(), "CUDA-core buckets have no norm phase");
        }
      }
    }
  }

  /** Units: weight pages for matvecs (at most one tile's pages of the phase apart), instructions otherwise. */
  @ParameterizedTest
  @MethodSource("shapes")
  void everyPhaseIsBalancedAcrossBlocksToOneTile(ModelDims d, int blocks, int rows) {
    InstructionStreams s = StreamBuilder.build(d, blocks, rows);
    Map<Integer, long[]> workPerPhase = new HashMap<>();
    Map<Integer, Integer> tilePages = new HashMap<>();
    for (int b = 0; b < blocks; b++) {
      for (Instruction i : s.streams().get(b)) {
        boolean matvec = i.op().matrix() != null;
        long work = matvec ? i.pages() : 1;
        workPerPhase.computeIfAbsent(i.phase(d.layers()), p -> new long[blocks])[b] += work;
        tilePages.merge(i.phase(d.layers()), matvec ? i.chunkCount() : 1, Math::max);
      }
    }
    workPerPhase.forEach((phase, work) -> {
      long max = java.util.Arrays.stream(work).max().orElseThrow();
      long min = java.util.Arrays.stream(work).min().orElseThrow();
      assertTrue(max - min <= tilePages.get(phase), "phase " + phase + " gives blocks " + min + " to " + max + " units");
    });
  }

  /**
   * Tensor cores: O_PROJ and DOWN of the 1B shape in 4 K pieces on 132 SMs, each block summing 3 or 4 tiles
   * over one piece (a quarter of the input staged, not all of it for one tile), and each norm after them
   * adding exactly that many pieces; CUDA-core buckets and the other matrices sum all of K.
   */
  @Test
  void tensorCoreResidualAddendsAreSummedInKPiecesThatTheNextNormAdds() {
    for (int rows : new int[] {16, 64, 256}) {
      InstructionStreams s = StreamBuilder.build(LLAMA_1B, 132, rows);
      for (int b = 0; b < s.blocks(); b++) {
        for (Instruction i : s.streams().get(b)) {
          if (i.op() == Opcode.O_PROJ || i.op() == Opcode.DOWN) {
            int chunks = TileLayout.pagesPerTile(i.op().matrix().columns(LLAMA_1B));
            assertEquals(chunks / 4, i.chunkCount(), i.toString());
            assertEquals(i.piece() * chunks / 4, i.firstChunk(), i.toString());
            assertEquals(b / 33, i.piece(), "blocks of one piece are contiguous: " + i);
            assertTrue(i.tileCount() == 3 || i.tileCount() == 4, i.toString());
          } else if (i.op().matrix() != null) {
            assertEquals(0, i.firstChunk());
            assertEquals(TileLayout.pagesPerTile(i.op().matrix().columns(LLAMA_1B)), i.chunkCount());
          } else if (i.op().isNorm()) {
            boolean seeds = i.op() == Opcode.NORM_ATTENTION && i.layer() == 0;
            assertEquals(seeds ? 0 : 4, i.pieces(), i.toString());
          }
        }
      }
    }
    for (List<Instruction> stream : StreamBuilder.build(LLAMA_1B, 132, StreamBuilder.MAX_CUDA_CORE_ROWS).streams()) {
      for (Instruction i : stream) {
        if (i.op().matrix() != null) {
          assertEquals(TileLayout.pagesPerTile(i.op().matrix().columns(LLAMA_1B)), i.chunkCount(), i.toString());
        }
      }
    }
  }

  @Test
  void attentionSharesGiveEverySmAboutOneInstruction() {
    assertEquals(16, StreamBuilder.build(LLAMA_1B, 132, 1).attentionShares());
    assertEquals(2, StreamBuilder.build(LLAMA_1B, 132, 8).attentionShares());
    assertEquals(1, StreamBuilder.build(LLAMA_1B, 132, 64).attentionShares());
    assertEquals(1024, StreamBuilder.build(LLAMA_1B, 132, 256).streams().stream()
        .mapToLong(stream -> stream.stream().filter(i -> i.op() == Opcode.ATTENTION && i.layer() == 0).count()).sum(),
        "rows x KV heads / 2 attention instructions per layer: one split each, two rows per instruction");
    assertEquals(2, StreamBuilder.build(LLAMA_1B, 132, 64).streams().get(0).stream()
        .filter(i -> i.op() == Opcode.ATTENTION).findFirst().orElseThrow().rows());
    assertEquals(1, StreamBuilder.build(LLAMA_1B, 132, 16).streams().get(0).stream()
        .filter(i -> i.op() == Opcode.ATTENTION).findFirst().orElseThrow().rows(), "two splits: both halves busy");
    assertEquals(StreamBuilder.MAX_SPLITS, StreamBuilder.build(TINY, 132, 1).attentionShares());
    assertEquals(1, StreamBuilder.build(TINY, 7, 8).attentionShares());
    assertEquals(2, StreamBuilder.headChunks(WIDE_GROUPS));
  }

  /**
   * The graph path's splits (32 at batch 1 on 132 SMs, 4 at batch 8) are shared out whole, in order, at most
   * two per instruction: its two halves take one each, so an instruction runs one round.
   */
  @ParameterizedTest
  @MethodSource("shapes")
  void attentionSharesTakeEachOfTheGraphPathsContextSplitsOnce(ModelDims d, int blocks, int rows) {
    int splits = AttentionKernels.decodeSplits(rows, d.kvHeads(), StreamBuilder.headChunks(d), blocks);
    Map<String, List<Instruction>> byGroup = new HashMap<>();
    for (List<Instruction> stream : StreamBuilder.build(d, blocks, rows).streams()) {
      for (Instruction i : stream) {
        if (i.op() == Opcode.ATTENTION) {
          assertEquals(splits, i.splits());
          assertTrue(i.rows() == 1 || splits == 1, "only rows of one split share an instruction");
          for (int r = i.row(); r < i.row() + i.rows(); r++) {
            byGroup.computeIfAbsent(i.layer() + " " + r + " " + i.headBegin(), k -> new ArrayList<>()).add(i);
          }
        }
      }
    }
    byGroup.forEach((group, shares) -> {
      shares.sort(java.util.Comparator.comparingInt(Instruction::split));
      int next = 0;
      for (Instruction share : shares) {
        assertEquals(next, share.firstSplit(), group);
        assertTrue(share.endSplit() > share.firstSplit(), group + " share " + share.split() + " is empty");
        assertTrue(share.endSplit() - share.firstSplit() <= 2, group + " share " + share.split() + " takes more");
        next = share.endSplit();
      }
      assertEquals(splits, next, group);
    });
  }

  private static Set<Integer> kParts(InstructionStreams s, Opcode op) {
    Set<Integer> parts = new java.util.TreeSet<>();
    s.streams().forEach(stream -> stream.stream().filter(i -> i.op() == op).forEach(i -> parts.add(i.splits())));
    return parts;
  }

  @Test
  void matvecsSumOverTheGraphPathsKPartsWherePartsAreWholePages() {
    Map<Opcode, Integer> parts = new java.util.EnumMap<>(Opcode.class);
    for (List<Instruction> stream : StreamBuilder.build(LLAMA_1B, 132, 1).streams()) {
      for (Instruction i : stream) {
        if (i.op().matrix() != null) {
          parts.put(i.op(), i.splits());
        }
      }
    }
    assertEquals(Map.of(Opcode.QKV, 2, Opcode.O_PROJ, 2, Opcode.GATE_UP, 1, Opcode.DOWN, 8, Opcode.LM_HEAD, 1), parts);
    // The graph sums 2,560 columns in 2 parts; 1,280 would split a page, so the megakernel sums one part.
    ModelDims wideDown = new ModelDims(512, 1, 8, 2, 64, 2560, 1000);
    assertEquals(2, GemmKernels.matvecKParts(512, 2560, 132));
    assertEquals(Set.of(1), kParts(StreamBuilder.build(wideDown, 132, 1), Opcode.DOWN));
    // Above 8 rows the graph path's GEMM splits, cut at k16 steps: 2 for every matrix here, except where
    // they would not divide K.
    InstructionStreams tc = StreamBuilder.build(wideDown, 132, 64, (m, n, k) -> k == 2560 ? 3 : 2);
    assertEquals(Set.of(2), kParts(tc, Opcode.QKV));
    assertEquals(Set.of(1), kParts(tc, Opcode.DOWN));
  }

  @Test
  void theChecksCatchAMissingWaitAndAPhaseOutOfOrder() {
    InstructionStreams good = StreamBuilder.build(TINY, 7, 2);
    List<List<Instruction>> noWait = new ArrayList<>();
    boolean dropped = false;
    for (List<Instruction> stream : good.streams()) {
      List<Instruction> copy = new ArrayList<>();
      for (Instruction i : stream) {
        if (!dropped && i.op() == Opcode.DOWN && i.layer() == 1) {
          copy.add(new Instruction(i.op(), i.layer(), i.firstTile(), i.tileCount(), 0, 0, 0, 0, 0, 0, -1, 0,
              i.signal(), -1, 0, 0, i.firstChunk(), i.chunkCount(), i.piece(), 0));
          dropped = true;
        } else {
          copy.add(i);
        }
      }
      noWait.add(copy);
    }
    InstructionStreams racy = new InstructionStreams(good.dims(), good.rows(), noWait, good.producersPerStep(),
        good.attentionShares(), good.lmPartials());
    assertFalse(StreamChecks.unorderedConflicts(racy).isEmpty(), "a down projection that does not wait races");

    List<List<Instruction>> reversed = new ArrayList<>();
    for (List<Instruction> stream : good.streams()) {
      List<Instruction> copy = new ArrayList<>(stream);
      java.util.Collections.reverse(copy);
      reversed.add(copy);
    }
    InstructionStreams stuck = new InstructionStreams(good.dims(), good.rows(), reversed, good.producersPerStep(),
        good.attentionShares(), good.lmPartials());
    assertNotNull(StreamChecks.simulate(stuck, 1, 1), "streams in reverse phase order deadlock");
  }

  @Test
  void encodingPutsOffsetsFirstThenEveryWordOfEachInstruction() {
    InstructionStreams s = StreamBuilder.build(TINY, 3, 1);
    int[] image = s.encode();
    int header = s.headerInts();
    assertEquals(0, header % 4, "instructions start 16-byte aligned");
    assertEquals(0, image[0]);
    assertEquals(s.instructionCount(), image[s.blocks()]);
    int at = 0;
    for (int b = 0; b < s.blocks(); b++) {
      assertEquals(at, image[b]);
      for (Instruction i : s.streams().get(b)) {
        int w = header + at * Instruction.WORDS;
        assertEquals(i.op().code(), image[w]);
        assertEquals(i.layer(), image[w + 1]);
        assertEquals(i.waitOn(), image[w + 10]);
        assertEquals(i.signal(), image[w + 12]);
        assertEquals(i.firstChunk(), image[w + 16]);
        assertEquals(i.chunkCount(), image[w + 17]);
        assertEquals(i.piece(), image[w + 18]);
        assertEquals(i.pieces(), image[w + 19]);
        at++;
      }
    }
  }
}
