package org.sparkllm.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Streams tensors into a safetensors file without holding the file in memory: the header is written
 * first from the declared tensors, then their values are appended in declaration order, in chunks of
 * any size. The same declarations and values always give the same bytes.
 */
public final class SafetensorsWriter implements AutoCloseable {
  private static final int BUFFER_BYTES = 1 << 20;
  /** The format pads the header with spaces so the data starts 8-byte aligned. */
  private static final int HEADER_ALIGNMENT = 8;

  /** One tensor to write; BF16 values are rounded to nearest even from the floats given. */
  public record Entry(String name, DType dtype, long[] shape) {
    public Entry {
      if (dtype == DType.F16) {
        throw new IllegalArgumentException(name + ": writing F16 is not supported");
      }
      shape = shape.clone();
    }

    public long elementCount() {
      return Arrays.stream(shape).reduce(1, Math::multiplyExact);
    }

    public long byteLength() {
      return Math.multiplyExact(elementCount(), dtype.byteSize());
    }
  }

  private final Path file;
  private final FileChannel channel;
  private final List<Entry> entries;
  private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
  private int current;
  private long writtenOfCurrent;

  private SafetensorsWriter(Path file, FileChannel channel, List<Entry> entries) {
    this.file = file;
    this.channel = channel;
    this.entries = entries;
  }

  /**
   * Creates (or replaces) {@code file} and writes its header.
   *
   * @param metadata the header's {@code __metadata__} (string to string), written with sorted keys
   * @param tensors the tensors in the order their values will be written
   */
  public static SafetensorsWriter create(Path file, Map<String, String> metadata, List<Entry> tensors) {
    List<Entry> entries = List.copyOf(tensors);
    byte[] header = header(metadata, entries);
    try {
      FileChannel channel =
          FileChannel.open(
              file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
      SafetensorsWriter writer = new SafetensorsWriter(file, channel, entries);
      writer.buffer.putLong(header.length);
      writer.putBytes(header);
      writer.skipCompleteTensors();
      return writer;
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot create", e);
    }
  }

  /**
   * Appends {@code count} values of the tensor being written; the next tensor starts once this one is
   * complete. A chunk must not run past the end of the current tensor.
   */
  public void write(float[] values, int from, int count) {
    if (current >= entries.size()) {
      throw new IllegalStateException(file + ": all declared tensors are already written");
    }
    Entry entry = entries.get(current);
    if (count > entry.elementCount() - writtenOfCurrent) {
      throw new IllegalStateException(
          file + ": " + count + " values run past the end of tensor \"" + entry.name() + "\"");
    }
    try {
      for (int i = from; i < from + count; i++) {
        if (buffer.remaining() < Float.BYTES) {
          flush();
        }
        if (entry.dtype() == DType.BF16) {
          buffer.putShort(HalfFloats.floatToBf16(values[i]));
        } else {
          buffer.putFloat(values[i]);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot write", e);
    }
    writtenOfCurrent += count;
    skipCompleteTensors();
  }

  /** Flushes and closes the file; fails when a declared tensor was not fully written. */
  @Override
  public void close() {
    try (channel) {
      flush();
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot write", e);
    }
    if (current < entries.size()) {
      throw new IllegalStateException(
          file + ": closed before tensor \"" + entries.get(current).name() + "\" was written");
    }
  }

  /** Empty tensors have no values to wait for. */
  private void skipCompleteTensors() {
    while (current < entries.size() && writtenOfCurrent == entries.get(current).elementCount()) {
      current++;
      writtenOfCurrent = 0;
    }
  }

  private void putBytes(byte[] bytes) throws IOException {
    for (int at = 0; at < bytes.length; ) {
      if (!buffer.hasRemaining()) {
        flush();
      }
      int n = Math.min(buffer.remaining(), bytes.length - at);
      buffer.put(bytes, at, n);
      at += n;
    }
  }

  private void flush() throws IOException {
    buffer.flip();
    while (buffer.hasRemaining()) {
      channel.write(buffer);
    }
    buffer.clear();
  }

  /** The JSON header: metadata first, then tensors by name, each with offsets in write order. */
  private static byte[] header(Map<String, String> metadata, List<Entry> entries) {
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode root = mapper.createObjectNode();
    if (!metadata.isEmpty()) {
      ObjectNode meta = root.putObject("__metadata__");
      new TreeMap<>(metadata).forEach(meta::put);
    }
    Map<String, long[]> offsets = new TreeMap<>();
    long at = 0;
    for (Entry entry : entries) {
      if (offsets.put(entry.name(), new long[] {at, at + entry.byteLength()}) != null) {
        throw new IllegalArgumentException("tensor \"" + entry.name() + "\" declared twice");
      }
      at += entry.byteLength();
    }
    entries.stream()
        .sorted(Comparator.comparing(Entry::name))
        .forEach(
            entry -> {
              ObjectNode tensor = root.putObject(entry.name());
              tensor.put("dtype", entry.dtype().name());
              ArrayNode shape = tensor.putArray("shape");
              Arrays.stream(entry.shape()).forEach(shape::add);
              ArrayNode dataOffsets = tensor.putArray("data_offsets");
              Arrays.stream(offsets.get(entry.name())).forEach(dataOffsets::add);
            });
    byte[] json = root.toString().getBytes(StandardCharsets.UTF_8);
    int padded = (json.length + HEADER_ALIGNMENT - 1) / HEADER_ALIGNMENT * HEADER_ALIGNMENT;
    byte[] header = Arrays.copyOf(json, padded);
    Arrays.fill(header, json.length, padded, (byte) ' ');
    return header;
  }
}
