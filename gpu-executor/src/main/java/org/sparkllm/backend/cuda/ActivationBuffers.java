package org.sparkllm.backend.cuda;

import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.model.LlamaConfig;

/**
 * Device buffers between the kernels of a step, allocated once for the largest step. Every CUDA graph
 * captures these addresses; steps run one at a time, so all graphs share them.
 */
final class ActivationBuffers implements AutoCloseable {
  final DeviceBuffer residual; // fp32 [tokens, hidden]
  final DeviceBuffer normed; // bf16 [tokens, hidden]
  final DeviceBuffer qkv; // fp32 [tokens, q + 2kv]
  final DeviceBuffer query; // bf16 [tokens, q], after RoPE
  final DeviceBuffer attention; // bf16 [tokens, q]
  final DeviceBuffer mlp; // bf16 [tokens, intermediate], after SwiGLU
  final DeviceBuffer lastNormed; // bf16 [rows, hidden]: final norm of the tokens whose logits are wanted
  final DeviceBuffer logits; // fp32 [rows, vocab]

  ActivationBuffers(CudaContext context, LlamaConfig c, int tokens, int rows) {
    long t = tokens;
    residual = context.allocate(4 * t * c.hiddenSize());
    normed = context.allocate(2 * t * c.hiddenSize());
    qkv = context.allocate(4 * t * (c.qDim() + 2L * c.kvDim()));
    query = context.allocate(2 * t * c.qDim());
    attention = context.allocate(2 * t * c.qDim());
    mlp = context.allocate(2 * t * c.intermediateSize());
    lastNormed = context.allocate(2L * rows * c.hiddenSize());
    logits = context.allocate(4L * rows * c.vocabSize());
  }

  @Override
  public void close() {
    for (DeviceBuffer b : new DeviceBuffer[] {residual, normed, qkv, query, attention, mlp, lastNormed, logits}) {
      b.close();
    }
  }
}
