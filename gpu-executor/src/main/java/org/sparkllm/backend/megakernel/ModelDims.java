package org.sparkllm.backend.megakernel;

import org.sparkllm.model.LlamaConfig;

/**
 * The model dimensions the megakernel's tiles and instruction streams depend on, checked against what
 * its kernels support: head_dim 32, 64 or 128 (the attention instruction is compiled for those), every
 * matvec input width (hidden, heads · head_dim, intermediate) a multiple of 64 (weights are tiled in blocks
 * of 64 columns whose rows' 16-byte chunks are swizzled, {@link TileLayout}), and whole query-head groups per
 * KV head.
 */
public record ModelDims(int hidden, int layers, int heads, int kvHeads, int headDim, int intermediate, int vocab) {

  public ModelDims {
    if (headDim != 32 && headDim != 64 && headDim != 128) {
      throw new IllegalArgumentException("the megakernel supports head_dim 32, 64 or 128, not " + headDim);
    }
    if (layers < 1 || heads < 1 || kvHeads < 1 || heads % kvHeads != 0) {
      throw new IllegalArgumentException("the megakernel needs whole query-head groups per KV head; got " + heads
          + " heads and " + kvHeads + " KV heads");
    }
    if (hidden % 64 != 0 || heads * headDim % 64 != 0 || intermediate % 64 != 0 || vocab < 1) {
      throw new IllegalArgumentException("the megakernel needs hidden_size, num_attention_heads · head_dim and "
          + "intermediate_size multiples of 64 (its weight pages swizzle 64 columns at a time); got " + hidden + ", "
          + heads * headDim + " and " + intermediate);
    }
  }

  public static ModelDims of(LlamaConfig c) {
    return new ModelDims(c.hiddenSize(), c.numLayers(), c.numHeads(), c.numKvHeads(), c.headDim(),
        c.intermediateSize(), c.vocabSize());
  }

  /** Query heads per KV head. */
  public int group() {
    return heads / kvHeads;
  }

  public int qDim() {
    return heads * headDim;
  }

  public int kvDim() {
    return kvHeads * headDim;
  }

  /** Rows of the fused q/k/v projection. */
  public int qkvRows() {
    return qDim() + 2 * kvDim();
  }

  /** Rows of one KV group in the re-tiled q/k/v matrix: its query heads, its key head, its value head. */
  public int qkvGroupRows() {
    return (group() + 2) * headDim;
  }

  /** The widest matvec input: the staged-activation area holds this many bf16 per batch row. */
  public int widestInput() {
    return Math.max(Math.max(hidden, qDim()), intermediate);
  }
}
