package org.sparkllm.kvcache;

/**
 * Tuning of the vAttention cache.
 *
 * @param memoryFraction share of the device's free memory the physical pool takes
 * @param lookaheadTokens the mapper keeps each running slot mapped this many tokens past its length
 * @param spareSlots idle slots the mapper keeps one page-set mapped in, so new requests start mapped
 * @param backgroundMapping map ahead on a background thread; false maps only when a step needs it
 */
public record KvCacheOptions(double memoryFraction, int lookaheadTokens, int spareSlots, boolean backgroundMapping) {

  public KvCacheOptions {
    if (!(memoryFraction > 0 && memoryFraction <= 1) || lookaheadTokens < 0 || spareSlots < 0) {
      throw new IllegalArgumentException("invalid KV cache options " + this);
    }
  }

  public static KvCacheOptions defaults() {
    return new KvCacheOptions(0.8, 64, 2, true);
  }

  public KvCacheOptions withBackgroundMapping(boolean on) {
    return new KvCacheOptions(memoryFraction, lookaheadTokens, spareSlots, on);
  }

  public KvCacheOptions withLookaheadTokens(int tokens) {
    return new KvCacheOptions(memoryFraction, tokens, spareSlots, backgroundMapping);
  }

  public KvCacheOptions withSpareSlots(int slots) {
    return new KvCacheOptions(memoryFraction, lookaheadTokens, slots, backgroundMapping);
  }

  public KvCacheOptions withMemoryFraction(double fraction) {
    return new KvCacheOptions(fraction, lookaheadTokens, spareSlots, backgroundMapping);
  }
}
