package org.sparkllm.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.sparkllm.model.ModelLoadException;

/**
 * Reads and validates the header of a safetensors file: an 8-byte little-endian length N, N bytes of
 * JSON, then the data region that every {@code data_offsets} pair is relative to. Every byte is
 * untrusted: lengths are checked against the file before anything is allocated, and every tensor is
 * checked to lie inside the data region without overlapping another.
 */
final class SafetensorsHeader {
  /** Real headers are well under 1 MiB; the cap keeps a lying length from allocating gigabytes. */
  static final long MAX_HEADER_BYTES = 100L << 20;

  private static final String METADATA_KEY = "__metadata__";
  private static final ObjectMapper MAPPER =
      new ObjectMapper()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private SafetensorsHeader() {}

  /** The tensors of {@code file} in header order, keyed by name. */
  static Map<String, TensorInfo> read(Path file, FileChannel channel) throws IOException {
    long fileSize = channel.size();
    if (fileSize < Long.BYTES) {
      throw error(file, "file of " + fileSize + " bytes is too short for the 8-byte header length");
    }
    ByteBuffer lengthBytes = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    readFully(channel, lengthBytes, 0, file);
    long headerLength = lengthBytes.getLong(0);
    if (headerLength < 2 || headerLength > fileSize - Long.BYTES) {
      throw error(
          file,
          "header length " + Long.toUnsignedString(headerLength) + " does not fit in the file of "
              + fileSize + " bytes");
    }
    if (headerLength > MAX_HEADER_BYTES) {
      throw error(file, "header length " + headerLength + " exceeds the limit of " + MAX_HEADER_BYTES);
    }
    ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
    readFully(channel, headerBytes, Long.BYTES, file);
    long dataStart = Long.BYTES + headerLength;
    return parse(file, headerBytes.array(), dataStart, fileSize - dataStart);
  }

  private static Map<String, TensorInfo> parse(Path file, byte[] json, long dataStart, long dataLength) {
    JsonNode root;
    try {
      root = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new ModelLoadException(file + ": malformed JSON header: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new ModelLoadException(file + ": unreadable JSON header: " + e, e);
    }
    if (root == null || !root.isObject()) {
      throw error(file, "header is not a JSON object");
    }
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      if (entry.getKey().equals(METADATA_KEY)) {
        if (!entry.getValue().isObject()) {
          throw error(file, "\"" + METADATA_KEY + "\" must be an object");
        }
        continue;
      }
      TensorInfo info = tensor(file, entry.getKey(), entry.getValue(), dataStart, dataLength);
      tensors.put(info.name(), info);
    }
    checkNoOverlap(file, tensors.values());
    return tensors;
  }

  private static TensorInfo tensor(
      Path file, String name, JsonNode node, long dataStart, long dataLength) {
    if (!node.isObject()) {
      throw tensorError(file, name, "entry must be an object with dtype, shape and data_offsets");
    }
    JsonNode dtypeNode = node.get("dtype");
    if (dtypeNode == null || !dtypeNode.isTextual()) {
      throw tensorError(file, name, "\"dtype\" must be a string, found " + dtypeNode);
    }
    DType dtype = DType.fromHeaderName(dtypeNode.textValue());
    if (dtype == null) {
      throw tensorError(
          file, name, "unsupported dtype " + dtypeNode + " (supported: BF16, F16, F32)");
    }
    long[] shape = nonNegativeLongs(file, name, node.get("shape"), "shape", -1);
    long[] offsets = nonNegativeLongs(file, name, node.get("data_offsets"), "data_offsets", 2);
    long byteLength;
    try {
      long elements = 1;
      for (long dim : shape) {
        elements = Math.multiplyExact(elements, dim);
      }
      byteLength = Math.multiplyExact(elements, dtype.byteSize());
    } catch (ArithmeticException e) {
      throw tensorError(file, name, "element count of shape " + node.get("shape") + " overflows");
    }
    long begin = offsets[0];
    long end = offsets[1];
    if (begin > end || end > dataLength) {
      throw tensorError(
          file, name,
          "data_offsets [" + begin + ", " + end + "] lie outside the data region of " + dataLength
              + " bytes");
    }
    if (end - begin != byteLength) {
      throw tensorError(
          file, name,
          "data_offsets [" + begin + ", " + end + "] span " + (end - begin) + " bytes but shape "
              + node.get("shape") + " of " + dtype + " needs " + byteLength);
    }
    return new TensorInfo(name, dtype, shape, file, dataStart + begin, byteLength);
  }

  /** Tensors must not share bytes; empty tensors occupy none and may sit anywhere. */
  private static void checkNoOverlap(Path file, Iterable<TensorInfo> tensors) {
    List<TensorInfo> sorted = new ArrayList<>();
    tensors.forEach(t -> {
      if (t.byteLength() > 0) {
        sorted.add(t);
      }
    });
    sorted.sort(Comparator.comparingLong(TensorInfo::fileOffset));
    for (int i = 1; i < sorted.size(); i++) {
      TensorInfo previous = sorted.get(i - 1);
      TensorInfo current = sorted.get(i);
      if (current.fileOffset() < previous.fileOffset() + previous.byteLength()) {
        throw tensorError(
            file, current.name(), "data overlaps tensor \"" + previous.name() + "\"");
      }
    }
  }

  private static long[] nonNegativeLongs(
      Path file, String name, JsonNode node, String field, int requiredLength) {
    String expected =
        requiredLength < 0
            ? "a list of non-negative integers"
            : "a list of " + requiredLength + " non-negative integers";
    if (node == null || !node.isArray() || (requiredLength >= 0 && node.size() != requiredLength)) {
      throw tensorError(file, name, "\"" + field + "\" must be " + expected + ", found " + node);
    }
    long[] values = new long[node.size()];
    for (int i = 0; i < values.length; i++) {
      JsonNode element = node.get(i);
      if (!element.isIntegralNumber() || !element.canConvertToLong() || element.longValue() < 0) {
        throw tensorError(file, name, "\"" + field + "\" must be " + expected + ", found " + node);
      }
      values[i] = element.longValue();
    }
    return values;
  }

  private static void readFully(FileChannel channel, ByteBuffer buffer, long position, Path file)
      throws IOException {
    while (buffer.hasRemaining()) {
      int read = channel.read(buffer, position + buffer.position());
      if (read < 0) {
        throw error(file, "file ended while reading the header");
      }
    }
  }

  private static ModelLoadException error(Path file, String problem) {
    return new ModelLoadException(file + ": " + problem);
  }

  private static ModelLoadException tensorError(Path file, String tensor, String problem) {
    return new ModelLoadException(file + ": tensor \"" + tensor + "\": " + problem);
  }
}
