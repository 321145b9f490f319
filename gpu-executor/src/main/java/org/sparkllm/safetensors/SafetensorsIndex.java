package org.sparkllm.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.sparkllm.model.ModelLoadException;

/**
 * {@code model.safetensors.index.json} of a sharded model: {@code {"metadata": ..., "weight_map":
 * {tensor: shard file}}}. Shard names are untrusted: only plain file names in the model directory are
 * accepted, so an index cannot make the engine open a file elsewhere.
 */
final class SafetensorsIndex {
  static final String FILE_NAME = "model.safetensors.index.json";

  /** An index lists one entry per tensor; a few MiB covers far more tensors than any Llama has. */
  private static final long MAX_INDEX_BYTES = 64L << 20;

  private static final ObjectMapper MAPPER =
      new ObjectMapper()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private SafetensorsIndex() {}

  /** Tensor name to shard file name, in the index's order. */
  static Map<String, String> readWeightMap(Path indexFile) {
    JsonNode root;
    try {
      long size = Files.size(indexFile);
      if (size > MAX_INDEX_BYTES) {
        throw new ModelLoadException(indexFile + ": " + size + " bytes exceeds the limit of " + MAX_INDEX_BYTES);
      }
      root = MAPPER.readTree(Files.readAllBytes(indexFile));
    } catch (JsonProcessingException e) {
      throw new ModelLoadException(indexFile + ": malformed JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new ModelLoadException(indexFile + ": cannot read: " + e, e);
    }
    JsonNode weightMap = root == null ? null : root.get("weight_map");
    if (weightMap == null || !weightMap.isObject()) {
      throw new ModelLoadException(
          indexFile + ": field \"weight_map\" must be an object of tensor name to shard file name");
    }
    Map<String, String> shards = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      JsonNode shard = entry.getValue();
      if (!shard.isTextual() || !isPlainFileName(shard.textValue())) {
        throw new ModelLoadException(
            indexFile + ": field \"weight_map\" entry \"" + entry.getKey() + "\" = " + shard
                + " must be the plain name of a file in the model directory");
      }
      shards.put(entry.getKey(), shard.textValue());
    }
    return shards;
  }

  private static boolean isPlainFileName(String name) {
    return !name.isEmpty()
        && !name.equals(".")
        && !name.equals("..")
        && name.indexOf('/') < 0
        && name.indexOf('\\') < 0
        && name.indexOf('\0') < 0
        && Path.of(name).getFileName().toString().equals(name);
  }
}
