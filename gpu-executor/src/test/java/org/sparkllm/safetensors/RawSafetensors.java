package org.sparkllm.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds safetensors files byte by byte, so tests can write files no correct writer would. */
final class RawSafetensors {
  private RawSafetensors() {}

  /** A file with the given header JSON (length taken from it) followed by {@code dataBytes} zeros. */
  static Path write(Path file, String headerJson, int dataBytes) throws IOException {
    byte[] header = headerJson.getBytes(StandardCharsets.UTF_8);
    return write(file, header.length, header, new byte[dataBytes]);
  }

  /** A file whose length prefix says {@code claimedHeaderLength}, whatever follows. */
  static Path write(Path file, long claimedHeaderLength, byte[] header, byte[] data) throws IOException {
    ByteBuffer bytes =
        ByteBuffer.allocate(Long.BYTES + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    bytes.putLong(claimedHeaderLength).put(header).put(data);
    return Files.write(file, bytes.array());
  }

  /** Little-endian 16-bit values, for hand-made F16 and BF16 data. */
  static byte[] shorts(int... values) {
    ByteBuffer bytes = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (int v : values) {
      bytes.putShort((short) v);
    }
    return bytes.array();
  }
}
