package org.sparkllm.checkpoint;

/**
 * The byte-level BPE alphabet: one printable character per byte value, so that token strings in
 * tokenizer.json never hold spaces or control characters. Printable Latin-1 bytes stand for
 * themselves; the others (controls, space, DEL, NBSP, soft hyphen) take the characters from U+0100
 * on, in byte order. This is the mapping the tokenizers library's ByteLevel steps use, so it must be
 * exactly this one.
 */
final class ByteLevelAlphabet {
  private static final char[] BYTE_TO_CHAR = buildTable();

  private ByteLevelAlphabet() {}

  private static char[] buildTable() {
    char[] table = new char[256];
    char next = 0x100;
    for (int b = 0; b < 256; b++) {
      boolean standsForItself = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC)
          || (b >= 0xAE && b <= 0xFF);
      table[b] = standsForItself ? (char) b : next++;
    }
    return table;
  }

  /** The token string of a byte sequence. */
  static String encode(byte[] bytes) {
    char[] chars = new char[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      chars[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
    }
    return new String(chars);
  }

  static String symbol(int byteValue) {
    return String.valueOf(BYTE_TO_CHAR[byteValue]);
  }
}
