package org.sparkllm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** Checks shared by the tests of the generated and of real tokenizers. */
final class TokenizerAssertions {
  private TokenizerAssertions() {}

  static void assertRoundTrip(Tokenizer tokenizer, String text) {
    int[] ids = tokenizer.encode(text, false);
    assertEquals(text, tokenizer.decode(ids), "decode(encode(text))");
  }

  /** Streaming the ids one by one gives decode(ids), and no piece shows a partial character. */
  static void assertStreamsLikeDecode(Tokenizer tokenizer, int[] ids) {
    String full = tokenizer.decode(ids);
    StreamingDetokenizer stream = tokenizer.newStreamingDetokenizer();
    StringBuilder pieces = new StringBuilder();
    for (int id : ids) {
      String piece = stream.append(id);
      if (!full.contains("\uFFFD")) {
        assertFalse(piece.contains("\uFFFD"), () -> "partial character in piece '" + piece + "'");
      }
      pieces.append(piece);
    }
    pieces.append(stream.finish());
    assertEquals(full, pieces.toString());
    assertEquals(full, stream.text());
  }
}
