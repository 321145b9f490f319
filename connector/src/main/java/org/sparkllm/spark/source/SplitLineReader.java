package org.sparkllm.spark.source;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;

/**
 * Reads the lines a {@link FileSplit} owns, as UTF-8 text without the line terminator (\n or \r\n).
 * A split that does not start at byte 0 first skips through the next newline: the line it lands in
 * belongs to the split before, which reads on past its end to finish it.
 */
final class SplitLineReader implements AutoCloseable {
  /** One line and the byte offset where it starts (for error messages). */
  record Line(long offset, String text) {}

  private final InputStream in;
  private final long end;
  private final byte[] buffer = new byte[64 * 1024];
  private int bufferPos;
  private int bufferLen;
  /** File offset of buffer[bufferPos]. */
  private long pos;
  private byte[] line = new byte[1024];

  SplitLineReader(FileSplit split, Configuration conf) throws IOException {
    Path path = new Path(split.path());
    FileSystem fs = path.getFileSystem(conf);
    FSDataInputStream raw = fs.open(path);
    if (split.whole()) {
      CompressionCodec codec = new CompressionCodecFactory(conf).getCodec(path);
      this.in = codec != null ? codec.createInputStream(raw) : raw;
      this.end = Long.MAX_VALUE;
    } else {
      raw.seek(split.start());
      this.in = raw;
      this.pos = split.start();
      this.end = split.end();
      if (split.start() > 0) {
        skipThroughNewline();
      }
    }
  }

  /** The next line of the split, or null when it has none left. */
  Line next() throws IOException {
    long start = pos;
    if (start > end || !fill()) {
      return null;
    }
    int length = 0;
    while (fill()) {
      byte b = buffer[bufferPos++];
      pos++;
      if (b == '\n') {
        break;
      }
      if (length == line.length) {
        line = Arrays.copyOf(line, length * 2);
      }
      line[length++] = b;
    }
    if (length > 0 && line[length - 1] == '\r') {
      length--;
    }
    return new Line(start, new String(line, 0, length, StandardCharsets.UTF_8));
  }

  private void skipThroughNewline() throws IOException {
    while (fill()) {
      pos++;
      if (buffer[bufferPos++] == '\n') {
        return;
      }
    }
  }

  /** True when a byte is available at bufferPos, reading more if needed. */
  private boolean fill() throws IOException {
    if (bufferPos < bufferLen) {
      return true;
    }
    bufferLen = in.read(buffer);
    bufferPos = 0;
    return bufferLen > 0;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
