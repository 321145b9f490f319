package org.sparkllm.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.sparkllm.model.GenerationConfig;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.safetensors.DType;
import org.sparkllm.safetensors.ModelTensors;

class CheckpointWriterTest {
  private static final TinyTokenizerWriter.SpecialTokens TOKENS = new TinyTokenizerWriter.SpecialTokens(500, 501, 502);

  @TempDir Path dir;

  @ParameterizedTest
  @EnumSource(ModelShape.class)
  void theWrittenConfigReadsBackAsTheShapesConfig(ModelShape shape) throws IOException {
    int vocab = shape.vocabSize();
    LlamaConfig expected = shape.config(vocab - 3, new int[] {vocab - 2, vocab - 1});
    ConfigFiles.writeConfig(dir, expected);

    assertEquals(expected, LlamaConfig.read(dir));
  }

  @Test
  void tinyModelFilesHoldEveryTensorWithItsShapeAndDistribution() throws IOException {
    CheckpointWriter.writeModelFiles(ModelShape.TINY_LLAMA3ROPE, dir, 1234, CheckpointWriter.DEFAULT_SHARD_BYTES, TOKENS);

    LlamaConfig config = LlamaConfig.read(dir);
    assertEquals(500, config.bosTokenId());
    assertArrayEquals(new int[] {501, 502}, config.eosTokenIds());
    GenerationConfig generation = GenerationConfig.read(dir);
    assertArrayEquals(new int[] {501, 502}, generation.eosTokenIds());
    assertEquals(0.6, generation.temperature());
    assertEquals(0.9, generation.topP());

    List<PlannedTensor> planned = LlamaWeightLayout.tensors(config, true);
    try (ModelTensors tensors = ModelTensors.open(dir)) {
      assertEquals(planned.stream().map(PlannedTensor::name).collect(Collectors.toSet()), tensors.names());
      for (PlannedTensor t : planned) {
        assertEquals(DType.BF16, tensors.info(t.name()).dtype());
        float[] values = tensors.readFloats(t.name(), t.shape());
        assertEquals(t.mean(), mean(values), 0.1 * t.std() + 0.01, t.name());
        assertEquals(t.std(), std(values), 0.1 * t.std(), t.name());
      }
    }
  }

  @Test
  void theSameSeedGivesTheSameBytesAndAnotherSeedOtherWeights() throws IOException {
    Path first = Files.createDirectory(dir.resolve("first"));
    Path second = Files.createDirectory(dir.resolve("second"));
    Path otherSeed = Files.createDirectory(dir.resolve("other"));
    CheckpointWriter.writeModelFiles(ModelShape.TINY, first, 1234, Long.MAX_VALUE, TOKENS);
    CheckpointWriter.writeModelFiles(ModelShape.TINY, second, 1234, Long.MAX_VALUE, TOKENS);
    CheckpointWriter.writeModelFiles(ModelShape.TINY, otherSeed, 1235, Long.MAX_VALUE, TOKENS);

    assertEquals(Set.of("config.json", "generation_config.json", "model.safetensors"), fileNames(first));
    for (String name : fileNames(first)) {
      assertArrayEquals(Files.readAllBytes(first.resolve(name)), Files.readAllBytes(second.resolve(name)), name);
    }
    byte[] weights = Files.readAllBytes(first.resolve("model.safetensors"));
    byte[] otherWeights = Files.readAllBytes(otherSeed.resolve("model.safetensors"));
    assertEquals(weights.length, otherWeights.length);
    assertFalse(java.util.Arrays.equals(weights, otherWeights));
  }

  @Test
  void aSmallShardSizeShardsTheSameWeightsWithAnIndex() throws IOException {
    Path single = Files.createDirectory(dir.resolve("single"));
    Path sharded = Files.createDirectory(dir.resolve("sharded"));
    CheckpointWriter.writeModelFiles(ModelShape.TINY, single, 1234, Long.MAX_VALUE, TOKENS);
    CheckpointWriter.writeModelFiles(ModelShape.TINY, sharded, 1234, 500_000, TOKENS);

    Set<String> files = fileNames(sharded);
    assertTrue(files.contains("model.safetensors.index.json"), files.toString());
    assertFalse(files.contains("model.safetensors"), files.toString());
    assertTrue(files.contains("model-00001-of-00004.safetensors"), files.toString());
    try (ModelTensors a = ModelTensors.open(single);
        ModelTensors b = ModelTensors.open(sharded)) {
      assertEquals(a.names(), b.names());
      for (String name : a.names()) {
        long[] shape = a.info(name).shape();
        assertArrayEquals(a.readFloats(name, shape), b.readFloats(name, shape), name);
      }
      assertTrue(b.names().stream().map(n -> b.info(n).file()).distinct().count() > 1);
    }
  }

  @Test
  void shardsSplitGreedilyAndGiveOversizedTensorsTheirOwnShard() {
    List<PlannedTensor> tensors =
        List.of(tensor("a", 10), tensor("b", 10), tensor("big", 100), tensor("c", 5));

    List<List<PlannedTensor>> shards = WeightFiles.splitIntoShards(tensors, 40);

    assertEquals(
        List.of(List.of("a", "b"), List.of("big"), List.of("c")),
        shards.stream().map(s -> s.stream().map(PlannedTensor::name).toList()).toList());
  }

  private static PlannedTensor tensor(String name, long elements) {
    return new PlannedTensor(name, new long[] {elements}, 0, 1);
  }

  private static Set<String> fileNames(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
    }
  }

  private static double mean(float[] values) {
    double sum = 0;
    for (float v : values) {
      sum += v;
    }
    return sum / values.length;
  }

  private static double std(float[] values) {
    double mean = mean(values);
    double sum = 0;
    for (float v : values) {
      sum += (v - mean) * (v - mean);
    }
    return Math.sqrt(sum / values.length);
  }
}
