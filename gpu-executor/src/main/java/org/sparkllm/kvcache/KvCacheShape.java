package org.sparkllm.kvcache;

/**
 * Geometry of the vAttention cache: per layer a virtual K and a virtual V tensor of shape
 * [maxSlots, maxContext, kvHeads, headDim]; slot i of a tensor starts at i * slotStrideBytes. A
 * "page-set" is one physical page in each of the 2 * layers tensors at the same slot offset: the
 * unit in which capacity is granted, because a token needs its page in every tensor.
 */
public record KvCacheShape(int layers, int kvHeads, int headDim, int elementBytes, int maxSlots, int maxContext,
    long pageBytes) {

  public KvCacheShape {
    if (layers < 1 || kvHeads < 1 || headDim < 1 || elementBytes < 1 || maxSlots < 1 || maxContext < 1
        || pageBytes < 1) {
      throw new IllegalArgumentException("every KV cache dimension must be positive: " + this);
    }
    long tokenBytes = (long) kvHeads * headDim * elementBytes;
    // Tokens must not straddle pages, or a token would need two page-sets mapped to be written.
    if (pageBytes % tokenBytes != 0) {
      throw new IllegalArgumentException("page of " + pageBytes + " bytes is not a whole number of "
          + tokenBytes + "-byte tokens");
    }
  }

  /** Llama-3.2-1B: 16 layers, 8 KV heads of 64, bf16. */
  public static KvCacheShape llama32OneB(int maxSlots, int maxContext, long pageBytes) {
    return new KvCacheShape(16, 8, 64, 2, maxSlots, maxContext, pageBytes);
  }

  /** One token's keys (or values) in one layer. */
  public long tokenBytes() {
    return (long) kvHeads * headDim * elementBytes;
  }

  public int pageTokens() {
    return Math.toIntExact(pageBytes / tokenBytes());
  }

  /** Virtual tensors: K and V of every layer; tensor 2l is layer l's K, 2l+1 its V. */
  public int tensors() {
    return 2 * layers;
  }

  public int pageSetsPerSlot() {
    return (maxContext + pageTokens() - 1) / pageTokens();
  }

  /** round_up(maxContext * tokenBytes, pageBytes). */
  public long slotStrideBytes() {
    return pageSetsPerSlot() * pageBytes;
  }

  public long tensorBytes() {
    return maxSlots * slotStrideBytes();
  }

  /** Physical bytes of one page-set. */
  public long pageSetBytes() {
    return tensors() * pageBytes;
  }

  public int pageSetsFor(int tokens) {
    return (tokens + pageTokens() - 1) / pageTokens();
  }
}
