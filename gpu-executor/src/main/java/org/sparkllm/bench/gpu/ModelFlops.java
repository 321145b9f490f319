package org.sparkllm.bench.gpu;

import org.sparkllm.model.LlamaConfig;

/** Work and bytes of a Llama forward pass, for floors and achieved rates. */
final class ModelFlops {
  private ModelFlops() {}

  /** Weight elements of the matmuls of one layer. */
  static long layerMatmulParams(LlamaConfig c) {
    long h = c.hiddenSize();
    return h * (c.qDim() + 2L * c.kvDim()) + (long) c.qDim() * h + 3L * h * c.intermediateSize();
  }

  /**
   * FLOPs of a prefill of {@code tokens} tokens from position 0 that wants the logits of the last one:
   * the matmuls of every token, causal attention (QK^T and PV over the keys each query sees), and the
   * LM head of one row.
   */
  static double prefillFlops(LlamaConfig c, int tokens) {
    double matmuls = 2.0 * tokens * c.numLayers() * layerMatmulParams(c);
    double keysSeen = (double) tokens * (tokens + 1) / 2;
    double attention = c.numLayers() * 2.0 * 2.0 * c.numHeads() * c.headDim() * keysSeen;
    double lmHead = 2.0 * c.hiddenSize() * c.vocabSize();
    return matmuls + attention + lmHead;
  }

  /** K and V bytes a decode step reads for a sequence at {@code context} tokens (bf16). */
  static long kvBytesRead(LlamaConfig c, int context) {
    return 2L * c.numLayers() * c.kvDim() * 2 * context;
  }
}
