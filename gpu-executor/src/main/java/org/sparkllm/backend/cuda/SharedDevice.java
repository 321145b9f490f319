package org.sparkllm.backend.cuda;

import java.util.List;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaModule;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.kvcache.VAttentionKvCache;

/**
 * What a CUDA backend lends the megakernel backend that wraps it: its context, stream (so decode steps
 * stay ordered with its prefill kernels), loaded kernels, the device addresses of its bf16 weights
 * (row-major, q/k/v fused and gate/up interleaved as {@link CudaWeights} describes), its RoPE tables
 * and its vAttention KV cache. The CUDA backend keeps owning all of them.
 */
public record SharedDevice(CudaContext context, CudaStream stream, CudaModule module, VAttentionKvCache kvCache,
    long embedding, long finalNorm, long lmHead, List<LayerWeights> layers, long ropeCos, long ropeSin) {

  /**
   * One layer's weight addresses: norms [hidden], qkv [q + 2kv, hidden], output [hidden, q], gateUp
   * [2 · intermediate, hidden], down [hidden, intermediate].
   */
  public record LayerWeights(long attentionNorm, long qkv, long output, long mlpNorm, long gateUp, long down) {}

  static SharedDevice of(CudaContext context, CudaStream stream, CudaModule module, VAttentionKvCache kvCache,
      CudaWeights weights, RopeTables rope, int layers) {
    List<LayerWeights> list = new java.util.ArrayList<>();
    for (int i = 0; i < layers; i++) {
      CudaWeights.Layer l = weights.layer(i);
      list.add(new LayerWeights(l.attentionNorm().address(), l.qkv().address(), l.output().address(),
          l.mlpNorm().address(), l.gateUp().address(), l.down().address()));
    }
    return new SharedDevice(context, stream, module, kvCache, weights.embedding().address(),
        weights.finalNorm().address(), weights.lmHead().address(), List.copyOf(list), rope.cos(), rope.sin());
  }
}
