package org.sparkllm.backend.megakernel;

import java.util.List;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.DeviceBuffer;

/**
 * The device buffers instructions hand data through, sized for the largest bucket the backend runs and
 * shared by every bucket (steps run one at a time). Layouts as struct Model in mk_common.cuh documents.
 */
final class MegakernelBuffers implements AutoCloseable {
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

  /** @param rows the largest bucket's rows: every bucket reads and writes all of its rows, padding included */
  MegakernelBuffers(CudaContext context, ModelDims d, int blocks, int rows) {
    if (rows < 1 || rows > MAX_ROWS) {
      throw new IllegalArgumentException("rows must be in [1, " + MAX_ROWS + "], got " + rows);
    }
    long r = rows;
    long partials = r * d.heads() * StreamBuilder.MAX_SPLITS;
    residual = context.allocate(4 * r * d.hidden());
    query = context.allocate(2 * r * d.qDim());
    attention = context.allocate(2 * r * d.qDim());
    mlp = context.allocate(2 * r * d.intermediate());
    logits = context.allocate(4 * r * d.vocab());
    attentionPartialO = context.allocate(4 * partials * d.headDim());
    attentionPartialMl = context.allocate(8 * partials);
    lmPartialValue = context.allocate(4L * MAX_ROWS * blocks);
    lmPartialIndex = context.allocate(4L * MAX_ROWS * blocks);
    normed = context.allocate(2 * r * d.hidden());
  }

  @Override
  public void close() {
    List.of(residual, query, attention, mlp, logits, attentionPartialO, attentionPartialMl, lmPartialValue,
        lmPartialIndex, normed).forEach(DeviceBuffer::close);
  }
}
