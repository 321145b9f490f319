package org.sparkllm.backend.megakernel;

import java.util.List;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.DeviceBuffer;

/**
 * The device buffers instructions hand data through, sized for the largest bucket (8 rows) and shared
 * by every bucket (steps run one at a time). Layouts as struct Model in mk_common.cuh documents.
 */
final class MegakernelBuffers implements AutoCloseable {
  static final int MAX_ROWS = 8;

  final DeviceBuffer residual; // fp32 [8][hidden]
  final DeviceBuffer query; // bf16 [8][q]
  final DeviceBuffer attention; // bf16 [8][q]
  final DeviceBuffer mlp; // bf16 [8][intermediate]
  final DeviceBuffer logits; // fp32 [8][vocab]
  final DeviceBuffer attentionPartialO; // fp32 [8][heads][32 splits][head_dim]
  final DeviceBuffer attentionPartialMl; // fp32 [8][heads][32 splits][2]
  final DeviceBuffer lmPartialValue; // fp32 [blocks][8]
  final DeviceBuffer lmPartialIndex; // int [blocks][8]

  MegakernelBuffers(CudaContext context, ModelDims d, int blocks) {
    long rows = MAX_ROWS;
    long partials = rows * d.heads() * StreamBuilder.MAX_SPLITS;
    residual = context.allocate(4 * rows * d.hidden());
    query = context.allocate(2 * rows * d.qDim());
    attention = context.allocate(2 * rows * d.qDim());
    mlp = context.allocate(2 * rows * d.intermediate());
    logits = context.allocate(4 * rows * d.vocab());
    attentionPartialO = context.allocate(4 * partials * d.headDim());
    attentionPartialMl = context.allocate(8 * partials);
    lmPartialValue = context.allocate(4 * rows * blocks);
    lmPartialIndex = context.allocate(4 * rows * blocks);
  }

  @Override
  public void close() {
    List.of(residual, query, attention, mlp, logits, attentionPartialO, attentionPartialMl, lmPartialValue,
        lmPartialIndex).forEach(DeviceBuffer::close);
  }
}
