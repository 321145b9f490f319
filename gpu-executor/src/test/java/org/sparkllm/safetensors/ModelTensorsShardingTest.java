package org.sparkllm.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkllm.safetensors.SafetensorsRoundTripTest.entry;
import static org.sparkllm.safetensors.SafetensorsRoundTripTest.write;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sparkllm.model.ModelLoadException;

class ModelTensorsShardingTest {
  private static final String SHARD_1 = "model-00001-of-00002.safetensors";
  private static final String SHARD_2 = "model-00002-of-00002.safetensors";

  @TempDir Path dir;
  private Path index;

  @BeforeEach
  void writeTwoShards() {
    write(dir.resolve(SHARD_1), Map.of("format", "pt"), List.of(entry("a", DType.F32, 2)), new float[] {1f, 2f});
    write(dir.resolve(SHARD_2), Map.of("format", "pt"), List.of(entry("b", DType.BF16, 1)), new float[] {3f});
    index = dir.resolve("model.safetensors.index.json");
  }

  @Test
  void readsTensorsFromEveryShard() throws IOException {
    writeIndex("{\"a\": \"" + SHARD_1 + "\", \"b\": \"" + SHARD_2 + "\"}");

    try (ModelTensors tensors = ModelTensors.open(dir)) {
      assertEquals(Set.of("a", "b"), tensors.names());
      assertArrayEquals(new float[] {1f, 2f}, tensors.readFloats("a", 2));
      assertArrayEquals(new float[] {3f}, tensors.readFloats("b", 1));
      assertEquals(dir.resolve(SHARD_2), tensors.info("b").file());
    }
  }

  @Test
  void theIndexTakesPrecedenceOverASingleFile() throws IOException {
    write(dir.resolve(ModelTensors.SINGLE_FILE_NAME), Map.of(), List.of(entry("c", DType.F32, 1)), new float[1]);
    writeIndex("{\"a\": \"" + SHARD_1 + "\"}");

    try (ModelTensors tensors = ModelTensors.open(dir)) {
      assertEquals(Set.of("a"), tensors.names());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"../" + SHARD_1, "/etc/passwd", "sub/" + SHARD_1, "..", ".", "", "a\\\\b"})
  void rejectsShardNamesThatAreNotPlainFileNames(String shard) throws IOException {
    writeIndex("{\"a\": \"" + shard + "\"}");

    ModelLoadException e = assertThrows(ModelLoadException.class, () -> ModelTensors.open(dir));

    assertTrue(
        e.getMessage().startsWith(index + ": field \"weight_map\" entry \"a\" = \"")
            && e.getMessage().endsWith("must be the plain name of a file in the model directory"),
        e.getMessage());
  }

  @Test
  void rejectsAMissingShard() throws IOException {
    writeIndex("{\"a\": \"" + SHARD_1 + "\", \"z\": \"model-00003-of-00003.safetensors\"}");

    ModelLoadException e = assertThrows(ModelLoadException.class, () -> ModelTensors.open(dir));

    assertEquals(
        index + ": shard \"model-00003-of-00003.safetensors\" of tensor \"z\" does not exist in " + dir,
        e.getMessage());
  }

  @Test
  void rejectsATensorMissingFromItsShard() throws IOException {
    writeIndex("{\"a\": \"" + SHARD_2 + "\"}");

    ModelLoadException e = assertThrows(ModelLoadException.class, () -> ModelTensors.open(dir));

    assertEquals(
        index + ": tensor \"a\" is not in its shard " + dir.resolve(SHARD_2), e.getMessage());
  }

  @Test
  void rejectsAnIndexWithoutAWeightMap() throws IOException {
    Files.writeString(index, "{\"metadata\": {}}");

    ModelLoadException e = assertThrows(ModelLoadException.class, () -> ModelTensors.open(dir));

    assertTrue(e.getMessage().startsWith(index + ": field \"weight_map\" must be an object"), e.getMessage());
  }

  @Test
  void rejectsAMalformedIndex() throws IOException {
    Files.writeString(index, "{\"weight_map\": {\"a\": ");

    ModelLoadException e = assertThrows(ModelLoadException.class, () -> ModelTensors.open(dir));

    assertTrue(e.getMessage().startsWith(index + ": malformed JSON"), e.getMessage());
  }

  @Test
  void aBadShardIsReportedWithItsOwnPath() throws IOException {
    Files.write(dir.resolve(SHARD_2), new byte[3]);
    writeIndex("{\"a\": \"" + SHARD_1 + "\", \"b\": \"" + SHARD_2 + "\"}");

    ModelLoadException e = assertThrows(ModelLoadException.class, () -> ModelTensors.open(dir));

    assertTrue(e.getMessage().startsWith(dir.resolve(SHARD_2) + ": file of 3 bytes"), e.getMessage());
  }

  @Test
  void aDirectoryWithoutWeightsNamesTheExpectedFiles(@TempDir Path empty) {
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> ModelTensors.open(empty));

    assertEquals(
        empty + ": no model weights (expected model.safetensors or model.safetensors.index.json)",
        e.getMessage());
  }

  private void writeIndex(String weightMap) throws IOException {
    Files.writeString(index, "{\"metadata\": {\"total_size\": 10}, \"weight_map\": " + weightMap + "}");
  }
}
