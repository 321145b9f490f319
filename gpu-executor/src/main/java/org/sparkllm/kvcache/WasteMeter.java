package org.sparkllm.kvcache;

/**
 * Internal fragmentation of an allocator that grants memory in blocks of {@code granularity} tokens:
 * accumulated over sequences (and steps), waste = (granted - used) / granted. With vAttention's 2 MiB
 * pages the granularity is the page's token count; a block-table allocator's is its block size.
 */
public final class WasteMeter {
  private final int granularity;
  private long usedTokens;
  private long grantedTokens;

  public WasteMeter(int granularity) {
    if (granularity < 1) {
      throw new IllegalArgumentException("granularity must be positive, got " + granularity);
    }
    this.granularity = granularity;
  }

  /** Adds one sequence holding {@code tokens} tokens. */
  public void add(int tokens) {
    usedTokens += tokens;
    grantedTokens += (long) (tokens + granularity - 1) / granularity * granularity;
  }

  public double wastePct() {
    return grantedTokens == 0 ? 0 : 100.0 * (grantedTokens - usedTokens) / grantedTokens;
  }
}
