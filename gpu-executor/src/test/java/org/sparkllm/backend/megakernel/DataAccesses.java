package org.sparkllm.backend.megakernel;

import java.util.ArrayList;
import java.util.List;

/**
 * What each instruction reads and writes during a step, written from the model's data flow rather than
 * from the builder: the test's independent statement of which instructions conflict.
 */
final class DataAccesses {
  /**
   * PIECES: the tensor-core O_PROJ's or DOWN's K pieces, piece p at columns [p · hidden, (p + 1) · hidden).
   * FLAGGED_RESIDUAL: the 1-row bucket's residual stream in flagged words (mk_flagged.cuh), one set per layer:
   * columns [0, hidden) after O_PROJ, [hidden, 2 · hidden) after DOWN.
   */
  enum Buffer { RESIDUAL, NORMED, QUERY, KV, ATTENTION, MLP, LOGITS, PIECES, FLAGGED_RESIDUAL }

  /**
   * Rows [rowFrom, rowTo) × columns [from, to) of a buffer; {@code layer} separates the layers of the KV
   * cache and the flagged words (the other buffers are reused by every layer). The KV cache's columns are the
   * keys of every KV head, then their values.
   */
  record Access(Buffer buffer, int layer, int rowFrom, int rowTo, int from, int to, boolean write) {
    boolean conflicts(Access o) {
      return buffer == o.buffer && layer == o.layer && (write || o.write) && rowFrom < o.rowTo && o.rowFrom < rowTo
          && from < o.to && o.from < to;
    }
  }

  private DataAccesses() {}

  static List<Access> of(Instruction i, ModelDims d, int rows) {
    List<Access> out = new ArrayList<>();
    int h = d.hidden();
    int dim = d.headDim();
    int firstRow = i.firstTile() * TileLayout.TILE_ROWS;
    int lastRow = (i.firstTile() + i.tileCount()) * TileLayout.TILE_ROWS;
    // Tensor-core buckets read the norm phases' output; CUDA-core ones normalise the residual themselves, in
    // flagged words at 1 row (the residual after the layer's O_PROJ, or after layer l's DOWN: afterMlp(l)).
    boolean normPhases = rows > StreamBuilder.MAX_CUDA_CORE_ROWS;
    boolean flagged = rows == MegakernelBuffers.FLAGGED_ROWS;
    int l = i.layer();
    Access normedInput = normPhases ? new Access(Buffer.NORMED, -1, 0, rows, 0, h, false)
        : flagged ? new Access(Buffer.FLAGGED_RESIDUAL, l, 0, rows, 0, h, false)
        : new Access(Buffer.RESIDUAL, -1, 0, rows, 0, h, false);
    java.util.function.IntFunction<Access> afterMlp = layer -> flagged
        ? new Access(Buffer.FLAGGED_RESIDUAL, layer, 0, rows, h, 2 * h, false)
        : new Access(Buffer.RESIDUAL, -1, 0, rows, 0, h, false);
    switch (i.op()) {
      case NORM_ATTENTION, NORM_MLP, NORM_FINAL -> {
        boolean seeds = i.op() == Opcode.NORM_ATTENTION && i.layer() == 0; // from the embedding (mk_norm.cuh)
        if (i.pieces() > 0) { // adds the phase before's pieces to the residual
          out.add(new Access(Buffer.PIECES, -1, i.row(), i.row() + 1, 0, i.pieces() * h, false));
          out.add(new Access(Buffer.RESIDUAL, -1, i.row(), i.row() + 1, 0, h, false));
        }
        out.add(new Access(Buffer.RESIDUAL, -1, i.row(), i.row() + 1, 0, h, seeds || i.pieces() > 0));
        out.add(new Access(Buffer.NORMED, -1, i.row(), i.row() + 1, 0, h, true));
      }
      case QKV -> {
        if (normPhases) {
          out.add(normedInput);
        } else if (l > 0) {
          out.add(afterMlp.apply(l - 1));
        } else if (!flagged) { // seeds its share of the residual with the embedding (mk_matvec.cuh, seed_residual)
          long tiles = TileLayout.tiles(d.qkvRows());
          out.add(new Access(Buffer.RESIDUAL, -1, 0, rows, (int) (i.firstTile() * (long) h / tiles),
              (int) ((i.firstTile() + i.tileCount()) * (long) h / tiles), true));
        } // the flagged layer 0 normalises the embedding
        // Element by element: tiles of one head may be split between instructions.
        for (int r = firstRow; r < Math.min(lastRow, d.qkvRows()); r++) {
          int source = TileLayout.qkvSourceRow(d, r);
          if (source < d.qDim()) {
            out.add(new Access(Buffer.QUERY, -1, 0, rows, source, source + 1, true));
          } else {
            int kv = source - d.qDim(); // keys [0, kvDim), values [kvDim, 2 kvDim)
            out.add(new Access(Buffer.KV, i.layer(), 0, rows, kv, kv + 1, true));
          }
        }
      }
      case ATTENTION -> {
        int from = i.headBegin() * dim;
        int to = (i.headBegin() + i.headCount()) * dim;
        out.add(new Access(Buffer.QUERY, -1, i.row(), i.row() + 1, from, to, false));
        int key = i.kvHead() * dim;
        out.add(new Access(Buffer.KV, i.layer(), i.row(), i.row() + 1, key, key + dim, false));
        out.add(new Access(Buffer.KV, i.layer(), i.row(), i.row() + 1, d.kvDim() + key, d.kvDim() + key + dim, false));
        out.add(new Access(Buffer.ATTENTION, -1, i.row(), i.row() + 1, from, to, true));
      }
      case O_PROJ, DOWN -> {
        out.add(i.op() == Opcode.O_PROJ
            ? new Access(Buffer.ATTENTION, -1, 0, rows, 0, d.qDim(), false)
            : new Access(Buffer.MLP, -1, 0, rows, 0, d.intermediate(), false));
        int to = Math.min(lastRow, h);
        if (normPhases) { // stores its K piece; the next norm adds it
          out.add(new Access(Buffer.PIECES, -1, 0, rows, i.piece() * h + firstRow, i.piece() * h + to, true));
        } else if (!flagged) { // adds to the residual
          out.add(new Access(Buffer.RESIDUAL, -1, 0, rows, firstRow, to, false));
          out.add(new Access(Buffer.RESIDUAL, -1, 0, rows, firstRow, to, true));
        } else if (i.op() == Opcode.O_PROJ) { // x + v: x the layer before's residual (layer 0: the embedding)
          if (l > 0) {
            out.add(new Access(Buffer.FLAGGED_RESIDUAL, l - 1, 0, rows, h + firstRow, h + to, false));
          }
          out.add(new Access(Buffer.FLAGGED_RESIDUAL, l, 0, rows, firstRow, to, true));
        } else {
          out.add(new Access(Buffer.FLAGGED_RESIDUAL, l, 0, rows, firstRow, to, false));
          out.add(new Access(Buffer.FLAGGED_RESIDUAL, l, 0, rows, h + firstRow, h + to, true));
        }
      }
      case GATE_UP -> {
        out.add(normedInput);
        out.add(new Access(Buffer.MLP, -1, 0, rows, firstRow / 2, Math.min(lastRow / 2, d.intermediate()), true));
      }
      case LM_HEAD -> {
        out.add(normPhases ? normedInput : afterMlp.apply(d.layers() - 1));
        out.add(new Access(Buffer.LOGITS, -1, 0, rows, firstRow, Math.min(lastRow, d.vocab()), true));
      }
      case SAMPLE -> out.add(new Access(Buffer.LOGITS, -1, i.row(), i.row() + 1, 0, d.vocab(), false));
    }
    return coalesced(out);
  }

  /** Merges accesses that continue each other's columns (a q/k/v run touches one column per row). */
  private static List<Access> coalesced(List<Access> in) {
    List<Access> sorted = new ArrayList<>(in);
    sorted.sort(java.util.Comparator.comparing(Access::buffer).thenComparingInt(Access::layer)
        .thenComparing(Access::write).thenComparingInt(Access::rowFrom).thenComparingInt(Access::from));
    List<Access> out = new ArrayList<>();
    for (Access a : sorted) {
      Access last = out.isEmpty() ? null : out.get(out.size() - 1);
      if (last != null && last.buffer() == a.buffer() && last.layer() == a.layer() && last.write() == a.write()
          && last.rowFrom() == a.rowFrom() && last.rowTo() == a.rowTo() && a.from() <= last.to()) {
        out.set(out.size() - 1, new Access(a.buffer(), a.layer(), a.rowFrom(), a.rowTo(), last.from(),
            Math.max(last.to(), a.to()), a.write()));
      } else {
        out.add(a);
      }
    }
    return out;
  }
}
