package org.sparkllm.tokenizer;

/** Turns generated ids into text one id at a time. STUB: filled by the tokenizer work. */
public final class StreamingDetokenizer {

  /** Appends one id; returns the text it completes, "" while a UTF-8 character is still partial. */
  public String append(int tokenId) {
    throw new UnsupportedOperationException("not yet implemented");
  }
}
