package org.sparkllm.backend.megakernel;

import java.util.Arrays;
import java.util.List;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;

/**
 * The device buffers instructions hand data through, sized for the largest bucket the backend runs and
 * shared by every bucket (steps run one at a time). Layouts as struct Model in mk_common.cuh documents.
 */
final class MegakernelBuffers implements AutoCloseable {
  /** The bucket whose residual goes in flagged words, and their rows per layer (mk_flagged.cuh, kFlaggedRows). */
  static final int FLAGGED_ROWS = 1;
  /** Rows of the largest bucket: struct Step's arrays and the LM-head partials' stride (kMaxStepRows). */
  static final int MAX_ROWS = 256;

  final DeviceBuffer residual; // fp32 [rows][hidden]
  final DeviceBuffer query; // bf16 [rows][q]
  final DeviceBuffer attention; // bf16 [rows][q]
  final DeviceBuffer mlp; // bf16 [rows][intermediate]
  final DeviceBuffer logits; // fp32 [rows][vocab]
  final DeviceBuffer attentionPartialO; // fp32 [rows][heads][32 splits][head_dim]
  final DeviceBuffer attentionPartialMl; // fp32 [rows][heads][32 splits][2]
  final DeviceBuffer lmPartialValue; // fp32 [blocks][MAX_ROWS]
  final DeviceBuffer lmPartialIndex; // int [blocks][MAX_ROWS]
  final DeviceBuffer normed; // bf16 [rows][hidden]: the NORM phases' output (tensor-core buckets)
  final DeviceBuffer residualPartial; // fp32 [MAX_PIECES][rows][hidden]: O_PROJ's or DOWN's K pieces (same)
  // The 1-row bucket's residual stream (mk_flagged.cuh): 8-byte words of an fp32 element and the launch tag that
  // wrote it, [layers][2: after O_PROJ, after DOWN][FLAGGED_ROWS][hidden]
  final DeviceBuffer flaggedResidual;

  /** @param rows the largest bucket's rows: every bucket reads and writes all of its rows, padding included */
  MegakernelBuffers(CudaContext context, ModelDims d, int blocks, int rows) {
    if (rows < 1 || rows > MAX_ROWS) {
      throw new IllegalArgumentException("rows must be in [1, " + MAX_ROWS + "], got " + rows);
    }
    long[] size = sizes(d, blocks, rows);
    residual = context.allocate(size[0]);
    query = context.allocate(size[1]);
    attention = context.allocate(size[2]);
    mlp = context.allocate(size[3]);
    logits = context.allocate(size[4]);
    attentionPartialO = context.allocate(size[5]);
    attentionPartialMl = context.allocate(size[6]);
    lmPartialValue = context.allocate(size[7]);
    lmPartialIndex = context.allocate(size[8]);
    normed = context.allocate(size[9]);
    residualPartial = context.allocate(size[10]);
    flaggedResidual = context.allocate(size[11]);
  }

  /**
   * Zeroes the flagged words, which no launch tag matches (tags start at 1): call before the first launch, since
   * fresh device memory may hold anything, and whenever the launch tags start again from 1.
   */
  void clearFlagged(CudaStream stream) {
    flaggedResidual.fill((byte) 0, stream);
  }

  /** Device bytes the buffers of a model, SM count and row capacity take. */
  static long bytes(ModelDims d, int blocks, int rows) {
    return Arrays.stream(sizes(d, blocks, rows)).sum();
  }

  /** Sizes in the order the constructor allocates them. */
  private static long[] sizes(ModelDims d, int blocks, long r) {
    long partials = r * d.heads() * StreamBuilder.MAX_SPLITS;
    return new long[] {4 * r * d.hidden(), 2 * r * d.qDim(), 2 * r * d.qDim(), 2 * r * d.intermediate(),
        4 * r * d.vocab(), 4 * partials * d.headDim(), 8 * partials, 4L * MAX_ROWS * blocks, 4L * MAX_ROWS * blocks,
        2 * r * d.hidden(), 4L * StreamBuilder.MAX_PIECES * r * d.hidden(),
        8L * d.layers() * 2 * FLAGGED_ROWS * d.hidden()};
  }

  @Override
  public void close() {
    List.of(residual, query, attention, mlp, logits, attentionPartialO, attentionPartialMl, lmPartialValue,
        lmPartialIndex, normed, residualPartial, flaggedResidual).forEach(DeviceBuffer::close);
  }
}
