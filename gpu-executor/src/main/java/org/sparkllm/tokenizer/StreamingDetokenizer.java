package org.sparkllm.tokenizer;

import java.util.Arrays;

/**
 * Turns the ids of one generated sequence into text one id at a time, never emitting half a
 * character: a byte-level token can end in the middle of a UTF-8 sequence (an emoji is often split
 * over several tokens), and decoding it alone would give U+FFFD.
 *
 * <p>It decodes only a short window, as text-generation servers do: {@code prefixOffset..readOffset}
 * are ids already emitted, kept as context because some decoders (SentencePiece's leading space)
 * decode a token differently at the start of a text; the new text is what decoding the window adds
 * to decoding its prefix. The window is held back while it ends in U+FFFD, i.e. in an incomplete
 * character. Not thread-safe: one per request.
 */
public final class StreamingDetokenizer {
  /**
   * A window this many ids past readOffset that still ends in U+FFFD is invalid UTF-8 that no later
   * id can complete (a character has at most 4 bytes); it is emitted as is so the window stays small.
   */
  private static final int MAX_HELD_IDS = 8;

  private final Tokenizer tokenizer;
  private final StringBuilder text = new StringBuilder();
  private int[] ids = new int[64];
  private int size;
  private int prefixOffset;
  private int readOffset;
  private String prefixText = "";

  StreamingDetokenizer(Tokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  /** Appends one id; returns the text it completes, "" while a UTF-8 character is still partial. */
  public String append(int tokenId) {
    if (size == ids.length) {
      ids = Arrays.copyOf(ids, size * 2);
    }
    ids[size++] = tokenId;
    String windowText = decodeWindow(prefixOffset, size);
    boolean complete = !windowText.endsWith("\uFFFD") || size - readOffset >= MAX_HELD_IDS;
    if (windowText.length() <= prefixText.length() || !complete) {
      return "";
    }
    return emit(windowText);
  }

  /** At the end of the sequence: the text still held back (an incomplete character, as U+FFFD). */
  public String finish() {
    String windowText = decodeWindow(prefixOffset, size);
    return windowText.length() > prefixText.length() ? emit(windowText) : "";
  }

  /** All text returned so far. */
  public String text() {
    return text.toString();
  }

  private String emit(String windowText) {
    String piece = windowText.substring(prefixText.length());
    prefixOffset = readOffset;
    readOffset = size;
    prefixText = decodeWindow(prefixOffset, readOffset);
    text.append(piece);
    return piece;
  }

  private String decodeWindow(int from, int to) {
    return from == to ? "" : tokenizer.decode(Tokenizer.toLongs(ids, from, to));
  }
}
