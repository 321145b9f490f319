package org.sparkllm.kvcache;

/**
 * Tuning of the vAttention cache.
 *
 * @param memoryFraction share of the device's free memory the physical pool takes
 * @param lookaheadTokens the mapper keeps each running slot mapped this many tokens past its length
 * @param spareSlots idle slots the mapper keeps one page-set mapped in, so new requests start mapped
 * @param backgroundMapping map ahead on a background thread; false maps only when a step needs it
 * @param reservedBytes free device memory kept out of the pool's share, for what is allocated after the
 *     cache (the megakernel's tiled weights)
 */
public record KvCacheOptions(double memoryFraction, int lookaheadTokens, int spareSlots, boolean backgroundMapping,
    long reservedBytes) {

  public KvCacheOptions {
    if (!(memoryFraction > 0 && memoryFraction <= 1) || lookaheadTokens < 0 || spareSlots < 0 || reservedBytes < 0) {
      throw new IllegalArgumentException("invalid KV cache options " + this);
    }
  }

  public KvCacheOptions(double memoryFraction, int lookaheadTokens, int spareSlots, boolean backgroundMapping) {
    this(memoryFraction, lookaheadTokens, spareSlots, backgroundMapping, 0);
  }

  public static KvCacheOptions defaults() {
    return new KvCacheOptions(0.8, 64, 2, true, 0);
  }

  public KvCacheOptions withBackgroundMapping(boolean on) {
    return new KvCacheOptions(memoryFraction, lookaheadTokens, spareSlots, on, reservedBytes);
  }

  public KvCacheOptions withLookaheadTokens(int tokens) {
    return new KvCacheOptions(memoryFraction, tokens, spareSlots, backgroundMapping, reservedBytes);
  }

  public KvCacheOptions withSpareSlots(int slots) {
    return new KvCacheOptions(memoryFraction, lookaheadTokens, slots, backgroundMapping, reservedBytes);
  }

  public KvCacheOptions withMemoryFraction(double fraction) {
    return new KvCacheOptions(fraction, lookaheadTokens, spareSlots, backgroundMapping, reservedBytes);
  }

  public KvCacheOptions withReservedBytes(long bytes) {
    return new KvCacheOptions(memoryFraction, lookaheadTokens, spareSlots, backgroundMapping, bytes);
  }

  /** The pool's budget out of {@code freeBytes} of free device memory. */
  public long budget(long freeBytes) {
    return (long) (Math.max(0, freeBytes - reservedBytes) * memoryFraction);
  }
}
