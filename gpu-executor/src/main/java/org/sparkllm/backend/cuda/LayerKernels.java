package org.sparkllm.backend.cuda;

import org.sparkllm.cuda.CudaKernel;
import org.sparkllm.cuda.CudaModule;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.KernelArgs;
import org.sparkllm.cuda.LaunchShape;
import org.sparkllm.model.LlamaConfig;

/**
 * Host side of kernels/src/main/cuda/layers.cuh: embedding lookup, RMSNorm, and RoPE with the KV-cache
 * append. Only enqueues, so every call can be captured into a CUDA graph.
 */
final class LayerKernels {
  private final CudaKernel embed;
  private final CudaKernel rmsNorm;
  private final CudaKernel ropeAppend;
  private final LlamaConfig config;

  LayerKernels(CudaModule module, LlamaConfig config) {
    if (config.hiddenSize() % 8 != 0 || config.headDim() % 2 != 0) {
      throw new IllegalArgumentException("the CUDA kernels need hidden_size % 8 == 0 and an even head_dim; got "
          + config.hiddenSize() + " and " + config.headDim());
    }
    this.embed = module.kernel("layer_embed");
    this.rmsNorm = module.kernel("layer_rmsnorm");
    this.ropeAppend = module.kernel("layer_rope_append");
    this.config = config;
  }

  /** x[t] (fp32) = table[tokens[t]] for t < rows. */
  void embed(CudaStream stream, long tokens, long table, long x, int rows) {
    embed.launch(LaunchShape.grid2d(rows, 1, 128), stream,
        new KernelArgs().addLong(tokens).addLong(table).addLong(x).addInt(config.hiddenSize()));
  }

  /** out[r] (bf16) = RMSNorm(x[rows[r]]) * weight for r < count; {@code rows} 0 means row r itself. */
  void rmsNorm(CudaStream stream, long x, long weight, long out, int count, long rows) {
    rmsNorm.launch(LaunchShape.grid2d(count, 1, 256), stream,
        new KernelArgs().addLong(x).addLong(weight).addLong(out).addInt(config.hiddenSize())
            .addFloat((float) config.rmsNormEps()).addLong(rows));
  }

  /**
   * Rotates q and k of the fused projection {@code qkv} and appends k and v to the layer's cache for
   * the first {@code *count} of {@code capacity} tokens.
   */
  void ropeAppend(CudaStream stream, long qkv, RopeTables rope, long slots, long positions, long count,
      long qOut, long kCache, long vCache, long slotStrideBytes, int capacity) {
    ropeAppend.launch(LaunchShape.grid2d(capacity, 1, 128), stream,
        new KernelArgs().addLong(qkv).addLong(rope.cos()).addLong(rope.sin()).addLong(slots).addLong(positions)
            .addLong(count).addLong(qOut).addLong(kCache).addLong(vCache).addLong(slotStrideBytes)
            .addInt(config.numHeads()).addInt(config.numKvHeads()).addInt(config.headDim()));
  }
}
