package org.sparkllm.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.sparkllm.safetensors.DType;
import org.sparkllm.safetensors.SafetensorsWriter;

/**
 * Writes planned tensors as bf16 safetensors: one {@code model.safetensors}, or, when they exceed the
 * shard size, Hugging Face-style shards {@code model-0000k-of-0000n.safetensors} with an index.
 */
final class WeightFiles {
  private static final Map<String, String> METADATA = Map.of("format", "pt");

  private WeightFiles() {}

  static void write(Path dir, List<PlannedTensor> tensors, long seed, long shardBytes) throws IOException {
    List<List<PlannedTensor>> shards = splitIntoShards(tensors, shardBytes);
    if (shards.size() == 1) {
      writeShard(dir.resolve("model.safetensors"), shards.get(0), seed);
      return;
    }
    Map<String, String> weightMap = new TreeMap<>();
    for (int i = 0; i < shards.size(); i++) {
      String fileName = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
      writeShard(dir.resolve(fileName), shards.get(i), seed);
      shards.get(i).forEach(t -> weightMap.put(t.name(), fileName));
    }
    writeIndex(dir, weightMap, totalBytes(tensors));
  }

  /** Greedy, in layout order; a tensor larger than the shard size gets a shard of its own. */
  static List<List<PlannedTensor>> splitIntoShards(List<PlannedTensor> tensors, long shardBytes) {
    List<List<PlannedTensor>> shards = new ArrayList<>();
    List<PlannedTensor> current = new ArrayList<>();
    long currentBytes = 0;
    for (PlannedTensor tensor : tensors) {
      long bytes = bf16Bytes(tensor);
      if (!current.isEmpty() && currentBytes + bytes > shardBytes) {
        shards.add(current);
        current = new ArrayList<>();
        currentBytes = 0;
      }
      current.add(tensor);
      currentBytes += bytes;
    }
    shards.add(current);
    return shards;
  }

  static long totalBytes(List<PlannedTensor> tensors) {
    return tensors.stream().mapToLong(WeightFiles::bf16Bytes).sum();
  }

  private static long bf16Bytes(PlannedTensor tensor) {
    return tensor.elementCount() * DType.BF16.byteSize();
  }

  private static void writeShard(Path file, List<PlannedTensor> tensors, long seed) {
    List<SafetensorsWriter.Entry> entries =
        tensors.stream().map(t -> new SafetensorsWriter.Entry(t.name(), DType.BF16, t.shape())).toList();
    try (SafetensorsWriter writer = SafetensorsWriter.create(file, METADATA, entries)) {
      tensors.forEach(t -> RandomWeights.write(t, seed, writer));
    }
  }

  private static void writeIndex(Path dir, Map<String, String> weightMap, long totalSize) throws IOException {
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode index = mapper.createObjectNode();
    index.putObject("metadata").put("total_size", totalSize);
    ObjectNode map = index.putObject("weight_map");
    weightMap.forEach(map::put);
    mapper.writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
  }
}
