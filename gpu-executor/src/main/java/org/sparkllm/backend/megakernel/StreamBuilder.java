package org.sparkllm.backend.megakernel;

import java.util.ArrayList;
import java.util.List;
import org.sparkllm.backend.cuda.AttentionKernels;
import org.sparkllm.backend.cuda.GemmKernels;

/**
 * Builds the per-SM instruction streams of one batch bucket, once; every step of that bucket reuses
 * them. Each matvec phase gives every SM a contiguous run of tiles (runs differ by at most one tile);
 * q/k/v runs are cut at KV-group boundaries so each instruction signals its group's counter and
 * attention on a group waits for that group only. Attention gets rows × KV heads × head chunks ×
 * shares instructions, the shares chosen so that this is about one per SM; where that leaves one context
 * split and one share each (large batches), an instruction serves two rows, one per half of the block,
 * which would otherwise idle. Buckets above
 * {@link #MAX_CUDA_CORE_ROWS} rows (tensor cores) get a norm phase of one instruction per row before
 * QKV, GATE_UP and the LM head, which then wait for it instead of the phase before. There O_PROJ and
 * DOWN, whose few output tiles would leave each SM staging the whole input for one or two tiles, are cut
 * into K pieces ({@link #pieces}): each SM sums about a tile group's worth of tiles over one piece of K and
 * stores fp32 sums, which the next norm adds to the residual in piece order.
 *
 * <p>Where the CUDA-graph path sums in an order of its own choosing, the streams tell the kernel to sum in
 * the same order, so that the two agree to the bit where nothing else differs: each matvec instruction
 * carries the graph matvec's K parts ({@link GemmKernels#matvecKParts}), and attention cuts contexts into
 * the graph's splits ({@link AttentionKernels#decodeSplits}), each share taking a run of them.
 */
public final class StreamBuilder {
  /** Query heads one attention instruction serves, as one block of the graph path's decode attention. */
  public static final int MAX_HEADS = AttentionKernels.DECODE_HEADS_PER_BLOCK;
  /** Most context splits (the graph path's limit, which the kernel's partial buffers are sized for). */
  public static final int MAX_SPLITS = AttentionKernels.MAX_SPLITS;
  /** The largest bucket whose matvecs run on CUDA cores, normalising while they stage (mk_common.cuh). */
  public static final int MAX_CUDA_CORE_ROWS = 4;
  /** Most K pieces of a tensor-core O_PROJ or DOWN: the depth of the pieces' buffer (Model.residual_partial). */
  public static final int MAX_PIECES = 8;

  private final ModelDims dims;
  private final int blocks;
  private final int rows;
  private final List<List<Instruction>> streams = new ArrayList<>();
  private final List<Integer> producers = new ArrayList<>();

  /** How the CUDA-graph path splits the K of an [m, k] × [k, n] product (GemmKernels.kSplits). */
  @FunctionalInterface
  public interface GemmSplits {
    int of(int m, int n, int k);
  }

  private final GemmSplits gemmSplits;

  private StreamBuilder(ModelDims dims, int blocks, int rows, GemmSplits gemmSplits) {
    if (blocks < 1 || rows < 1) {
      throw new IllegalArgumentException("need at least one block and one row; got " + blocks + " and " + rows);
    }
    this.gemmSplits = gemmSplits;
    this.dims = dims;
    this.blocks = blocks;
    this.rows = rows;
    for (int b = 0; b < blocks; b++) {
      streams.add(new ArrayList<>());
    }
  }

  /** The streams for {@code rows} batch rows on {@code blocks} SMs. */
  public static InstructionStreams build(ModelDims dims, int blocks, int rows, GemmSplits gemmSplits) {
    return new StreamBuilder(dims, blocks, rows, gemmSplits).build();
  }

  /**
   * As {@link #build(ModelDims, int, int, GemmSplits)} with the graph path's split rule computed here, which
   * needs no GPU: the matvec's K parts up to {@link GemmKernels#MATVEC_MAX_M} rows, none above (where the real
   * rule needs the device's GEMM plan).
   */
  public static InstructionStreams build(ModelDims dims, int blocks, int rows) {
    return build(dims, blocks, rows,
        (m, n, k) -> m <= GemmKernels.MATVEC_MAX_M ? GemmKernels.matvecKParts(n, k, blocks) : 1);
  }

  /** Head chunks per KV group: attention instructions serve at most {@link #MAX_HEADS} query heads. */
  static int headChunks(ModelDims d) {
    return (d.group() + MAX_HEADS - 1) / MAX_HEADS;
  }

  /**
   * Attention instructions per (row, KV head, head chunk): enough to give every SM about one, and no more
   * than the context splits they share out.
   */
  static int shares(ModelDims d, int blocks, int rows) {
    int groups = rows * d.kvHeads() * headChunks(d);
    return Math.max(1, Math.min(contextSplits(d, blocks, rows), blocks / groups));
  }

  /** The graph path's context splits for a decode step of {@code rows} rows on {@code blocks} SMs. */
  static int contextSplits(ModelDims d, int blocks, int rows) {
    return AttentionKernels.decodeSplits(rows, d.kvHeads(), headChunks(d), blocks);
  }

  /**
   * K parts for {@code m}'s instructions: the graph path's, where the kernel can cut there: whole pages up to
   * 8 rows (a lane then sums the same 16-byte chunks in the same order), whole k16 steps above; otherwise 1,
   * and the two paths sum differently.
   */
  private int kParts(Matrix m) {
    int k = m.columns(dims);
    int parts = gemmSplits.of(rows, m.rows(dims), k);
    int cut = rows <= MAX_CUDA_CORE_ROWS ? TileLayout.PAGE_COLUMNS : 16;
    return parts >= 1 && k % (parts * cut) == 0 ? parts : 1;
  }

  /** A phase's counter, and (O_PROJ, DOWN) the K pieces it stores for the next norm to add. */
  private record Phase(int done, int pieces) {}

  private InstructionStreams build() {
    int layers = dims.layers();
    int shares = shares(dims, blocks, rows);
    int contextSplits = contextSplits(dims, blocks, rows);
    Phase previousDown = new Phase(-1, 0);
    for (int l = 0; l < layers; l++) {
      int[] qkvDone = qkv(l, norm(Opcode.NORM_ATTENTION, l, previousDown));
      int attentionDone = attention(l, qkvDone, shares, contextSplits);
      Phase o = residualPhase(Opcode.O_PROJ, l, attentionDone);
      int gateUpDone = matvecPhase(Opcode.GATE_UP, l, norm(Opcode.NORM_MLP, l, o));
      previousDown = residualPhase(Opcode.DOWN, l, gateUpDone);
    }
    int lmPartials = lmHead(norm(Opcode.NORM_FINAL, 0, previousDown));
    int[] perStep = producers.stream().mapToInt(Integer::intValue).toArray();
    List<List<Instruction>> frozen = streams.stream().map(List::copyOf).toList();
    return new InstructionStreams(dims, rows, frozen, perStep, shares, lmPartials);
  }

  private int counter() {
    producers.add(0);
    return producers.size() - 1;
  }

  private int waitCount(int counter) {
    return counter < 0 ? 0 : producers.get(counter);
  }

  private void add(int block, Instruction i) {
    streams.get(block).add(i);
    if (i.signal() >= 0) {
      producers.set(i.signal(), producers.get(i.signal()) + 1);
    }
  }

  /** Tiles [first(b), first(b + 1)) go to block b. */
  private long first(int block, int tiles) {
    return runStart(block, tiles, blocks);
  }

  /** Where the i-th of n contiguous runs over {@code tiles} tiles starts (runs differ by at most one tile). */
  private static long runStart(int i, int tiles, int n) {
    return (long) i * tiles / n;
  }

  private int[] qkv(int layer, int wait) {
    int[] done = new int[dims.kvHeads()];
    for (int g = 0; g < done.length; g++) {
      done[g] = counter();
    }
    int tiles = TileLayout.tiles(Matrix.QKV.rows(dims));
    int perGroup = TileLayout.qkvTilesPerGroup(dims);
    int waitCount = waitCount(wait);
    for (int b = 0; b < blocks; b++) {
      int from = (int) first(b, tiles);
      int to = (int) first(b + 1, tiles);
      while (from < to) {
        int group = from / perGroup;
        int end = Math.min(to, (group + 1) * perGroup);
        add(b, Instruction.matvec(Opcode.QKV, layer, from, end - from, 0, chunks(Matrix.QKV), 0, kParts(Matrix.QKV),
            wait, waitCount, done[group]));
        from = end;
      }
    }
    return done;
  }

  /**
   * One norm instruction per row, dealt round-robin, all waiting for {@code before}, each adding its K pieces
   * first; returns the counter the next matvec phase waits for: the norms' own, or {@code before}'s itself
   * when the bucket has no norm phase.
   */
  private int norm(Opcode op, int layer, Phase before) {
    if (rows <= MAX_CUDA_CORE_ROWS) {
      return before.done();
    }
    int done = counter();
    int waitCount = waitCount(before.done());
    for (int row = 0; row < rows; row++) {
      add(row % blocks, Instruction.norm(op, layer, row, before.pieces(), before.done(), waitCount, done));
    }
    return done;
  }

  private int attention(int layer, int[] qkvDone, int shares, int contextSplits) {
    int done = counter();
    int chunks = headChunks(dims);
    int group = dims.group();
    // One split and one share per (row, KV head, head chunk): a block's two halves serve two rows.
    boolean paired = contextSplits == 1 && shares == 1 && rows > 1;
    int next = 0;
    for (int row = 0; row < rows; row += paired ? 2 : 1) {
      for (int g = 0; g < dims.kvHeads(); g++) {
        for (int c = 0; c < chunks; c++) {
          int headBegin = g * group + c * MAX_HEADS;
          int headCount = Math.min(MAX_HEADS, group - c * MAX_HEADS);
          if (paired && row + 1 < rows) {
            add(next++ % blocks, Instruction.attentionPair(layer, row, g, headBegin, headCount, qkvDone[g],
                waitCount(qkvDone[g]), done));
            continue;
          }
          int arrive = counter();
          for (int s = 0; s < shares; s++) {
            add(next++ % blocks, Instruction.attention(layer, row, g, headBegin, headCount, s, contextSplits, shares,
                qkvDone[g], waitCount(qkvDone[g]), done, arrive));
            producers.set(arrive, producers.get(arrive) + 1);
          }
        }
      }
    }
    return done;
  }

  /** K chunks of a matrix: pages per tile. */
  private int chunks(Matrix m) {
    return TileLayout.pagesPerTile(m.columns(dims));
  }

  private int matvecPhase(Opcode op, int layer, int wait) {
    int done = counter();
    int tiles = TileLayout.tiles(op.matrix().rows(dims));
    int waitCount = waitCount(wait);
    for (int b = 0; b < blocks; b++) {
      int from = (int) first(b, tiles);
      int to = (int) first(b + 1, tiles);
      if (to > from) {
        add(b, Instruction.matvec(op, layer, from, to - from, 0, chunks(op.matrix()), 0, kParts(op.matrix()), wait,
            waitCount, done));
      }
    }
    return done;
  }

  /**
   * O_PROJ or DOWN, which add to the residual. CUDA-core buckets: one matvec phase that adds directly (1 row:
   * stores x + v in flagged words, mk_flagged.cuh). Tensor cores: {@link #pieces} K pieces, piece p taking chunks
   * [p · C/P, (p + 1) · C/P) on blocks
   * [p · B/P, (p + 1) · B/P), its tiles dealt over them in runs; each instruction stores piece p of its tiles'
   * sums. One piece sums K as the graph path does (its K parts); more sum each piece in one part.
   */
  private Phase residualPhase(Opcode op, int layer, int wait) {
    int pieces = rows <= MAX_CUDA_CORE_ROWS ? 1 : pieces(op.matrix());
    if (pieces == 1) {
      return new Phase(matvecPhase(op, layer, wait), 1);
    }
    int done = counter();
    int tiles = TileLayout.tiles(op.matrix().rows(dims));
    int chunksPerPiece = chunks(op.matrix()) / pieces;
    int blocksPerPiece = blocks / pieces;
    int waitCount = waitCount(wait);
    for (int p = 0; p < pieces; p++) {
      for (int i = 0; i < blocksPerPiece; i++) {
        int from = (int) runStart(i, tiles, blocksPerPiece);
        int to = (int) runStart(i + 1, tiles, blocksPerPiece);
        if (to > from) {
          add(p * blocksPerPiece + i, Instruction.matvec(op, layer, from, to - from, p * chunksPerPiece,
              chunksPerPiece, p, 1, wait, waitCount, done));
        }
      }
    }
    return new Phase(done, pieces);
  }

  /**
   * K pieces for a tensor-core matrix that adds to the residual: the count P (dividing both the chunks and the
   * blocks, so every piece has whole pages and as many blocks, at most {@link #MAX_PIECES}) that moves the
   * fewest bytes per SM and batch row: the input it stages (a tile group's pass over its piece's columns, once
   * per group of its run) and the fp32 pieces stored and read back by the norms.
   */
  private int pieces(Matrix m) {
    int tiles = TileLayout.tiles(m.rows(dims));
    int chunks = chunks(m);
    int best = 1;
    long bestBytes = Long.MAX_VALUE;
    for (int p = 1; p <= MAX_PIECES; p++) {
      if (chunks % p != 0 || blocks % p != 0) {
        continue;
      }
      int run = ceilDiv(tiles, blocks / p);
      long staged = 2L * ceilDiv(run, SharedMemoryPlan.TENSOR_CORE_TILE_GROUP) * (chunks / p) * TileLayout.PAGE_COLUMNS;
      long stored = 8L * p * m.rows(dims) / blocks;
      if (staged + stored < bestBytes) {
        best = p;
        bestBytes = staged + stored;
      }
    }
    return best;
  }

  private static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
  }

  /**
   * LM-head runs in tile order; partial slot i belongs to the i-th run, so the argmax keeps the first maximum.
   * Then one SAMPLE instruction per row, waiting for every run's logits. Returns the number of runs.
   */
  private int lmHead(int wait) {
    int arrive = counter();
    int done = counter();
    int tiles = TileLayout.tiles(dims.vocab());
    List<int[]> runs = new ArrayList<>();
    for (int b = 0; b < blocks; b++) {
      int from = (int) first(b, tiles);
      int to = (int) first(b + 1, tiles);
      if (to > from) {
        runs.add(new int[] {b, from, to});
      }
    }
    int waitCount = waitCount(wait);
    for (int i = 0; i < runs.size(); i++) {
      int[] r = runs.get(i);
      add(r[0], Instruction.matvec(Opcode.LM_HEAD, 0, r[1], r[2] - r[1], 0, chunks(Matrix.LM_HEAD), 0,
          kParts(Matrix.LM_HEAD), wait, waitCount, done)
          .withArrival(arrive, runs.size(), i));
    }
    producers.set(arrive, runs.size());
    for (int row = 0; row < rows; row++) {
      add(row % blocks, Instruction.sample(row, done, waitCount(done)));
    }
    return runs.size();
  }
}
