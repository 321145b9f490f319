package org.sparkllm.safetensors;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Map;
import org.sparkllm.model.ModelLoadException;

/** One validated safetensors file, read through memory mappings. Thread-safe. */
final class SafetensorsFile implements AutoCloseable {
  /**
   * Bytes mapped at a time. On Java 17 one MappedByteBuffer holds at most 2 GiB, so larger tensors
   * (the 8B model's embedding is 1 GiB in bf16 but 2 GiB in f32) are read window by window. A file
   * can be opened with another window size so a test can drive the windowed path with a few bytes.
   */
  static final long DEFAULT_WINDOW_BYTES = 1L << 30;

  private static final int CONVERT_CHUNK = 1 << 14;

  private final Path path;
  private final FileChannel channel;
  private final Map<String, TensorInfo> tensors;
  private final long windowBytes;

  private SafetensorsFile(Path path, FileChannel channel, Map<String, TensorInfo> tensors, long windowBytes) {
    this.path = path;
    this.channel = channel;
    this.tensors = Collections.unmodifiableMap(tensors);
    this.windowBytes = windowBytes;
  }

  static SafetensorsFile open(Path path) {
    return open(path, DEFAULT_WINDOW_BYTES);
  }

  static SafetensorsFile open(Path path, long windowBytes) {
    if (windowBytes < 4 || windowBytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("window of " + windowBytes + " bytes");
    }
    FileChannel channel;
    try {
      channel = FileChannel.open(path, StandardOpenOption.READ);
    } catch (NoSuchFileException e) {
      throw new ModelLoadException(path + ": file not found", e);
    } catch (IOException e) {
      throw new ModelLoadException(path + ": cannot open: " + e, e);
    }
    try {
      return new SafetensorsFile(path, channel, SafetensorsHeader.read(path, channel), windowBytes);
    } catch (IOException e) {
      closeQuietly(channel);
      throw new ModelLoadException(path + ": cannot read: " + e, e);
    } catch (RuntimeException e) {
      closeQuietly(channel);
      throw e;
    }
  }

  Path path() {
    return path;
  }

  /** The tensors in header order. */
  Map<String, TensorInfo> tensors() {
    return tensors;
  }

  /** All elements of {@code info} (a tensor of this file) converted exactly to float32. */
  float[] readFloats(TensorInfo info) {
    long count = info.elementCount();
    if (count > Integer.MAX_VALUE - 8) {
      throw new ModelLoadException(
          path + ": tensor \"" + info.name() + "\" has " + count + " elements, too many for one array");
    }
    float[] values = new float[(int) count];
    int elementSize = info.dtype().byteSize();
    // A whole number of elements per window, so no element straddles two mappings.
    long window = windowBytes - windowBytes % elementSize;
    int next = 0;
    try {
      for (long done = 0; done < info.byteLength(); done += window) {
        long length = Math.min(window, info.byteLength() - done);
        MappedByteBuffer mapped =
            channel.map(FileChannel.MapMode.READ_ONLY, info.fileOffset() + done, length);
        mapped.order(ByteOrder.LITTLE_ENDIAN);
        next = convert(mapped, info.dtype(), values, next, (int) (length / elementSize));
      }
    } catch (IOException e) {
      throw new ModelLoadException(path + ": cannot read tensor \"" + info.name() + "\": " + e, e);
    }
    return values;
  }

  private static int convert(MappedByteBuffer bytes, DType dtype, float[] out, int at, int count) {
    if (dtype == DType.F32) {
      bytes.asFloatBuffer().get(out, at, count);
      return at + count;
    }
    // Bulk copies into a small array are several times faster than one buffer read per element.
    ShortBuffer halves = bytes.asShortBuffer();
    short[] scratch = new short[Math.min(count, CONVERT_CHUNK)];
    for (int done = 0; done < count; done += scratch.length) {
      int n = Math.min(scratch.length, count - done);
      halves.get(scratch, 0, n);
      for (int i = 0; i < n; i++) {
        out[at + done + i] =
            dtype == DType.BF16 ? HalfFloats.bf16ToFloat(scratch[i]) : HalfFloats.f16ToFloat(scratch[i]);
      }
    }
    return at + count;
  }

  @Override
  public void close() {
    closeQuietly(channel);
  }

  private static void closeQuietly(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // Read-only channel: nothing was written that a failed close could lose.
    }
  }
}
