package org.sparkllm.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LlamaConfigReaderTest {
  /** Llama-3.2-1B-Instruct's config.json as published on the Hugging Face hub. */
  static final String LLAMA_3_2_1B =
      """
      {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": false,
        "attention_dropout": 0.0,
        "bos_token_id": 128000,
        "eos_token_id": [128001, 128008, 128009],
        "head_dim": 64,
        "hidden_act": "silu",
        "hidden_size": 2048,
        "initializer_range": 0.02,
        "intermediate_size": 8192,
        "max_position_embeddings": 131072,
        "mlp_bias": false,
        "model_type": "llama",
        "num_attention_heads": 32,
        "num_hidden_layers": 16,
        "num_key_value_heads": 8,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": {
          "factor": 32.0,
          "high_freq_factor": 4.0,
          "low_freq_factor": 1.0,
          "original_max_position_embeddings": 8192,
          "rope_type": "llama3"
        },
        "rope_theta": 500000.0,
        "tie_word_embeddings": true,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.45.0.dev0",
        "use_cache": true,
        "vocab_size": 128256
      }
      """;

  @TempDir Path dir;

  @Test
  void readsTheLlama32OneBConfig() throws IOException {
    LlamaConfig config = read(LLAMA_3_2_1B);

    assertEquals(2048, config.hiddenSize());
    assertEquals(16, config.numLayers());
    assertEquals(32, config.numHeads());
    assertEquals(8, config.numKvHeads());
    assertEquals(64, config.headDim());
    assertEquals(8192, config.intermediateSize());
    assertEquals(128256, config.vocabSize());
    assertEquals(131072, config.maxPositionEmbeddings());
    assertEquals(1e-5, config.rmsNormEps());
    assertEquals(500000.0, config.ropeTheta());
    assertEquals(new RopeScaling(32.0, 1.0, 4.0, 8192), config.ropeScaling());
    assertTrue(config.tieWordEmbeddings());
    assertEquals(128000, config.bosTokenId());
    assertArrayEquals(new int[] {128001, 128008, 128009}, config.eosTokenIds());
    assertEquals(512, config.kvDim());
    assertEquals(2048, config.qDim());
  }

  @Test
  void readsTheTransformers5RopeParametersForm() throws IOException {
    String v5 =
        LLAMA_3_2_1B
            .replace("\"rope_theta\": 500000.0,", "")
            .replace("\"rope_scaling\": {", "\"rope_parameters\": {\"rope_theta\": 500000.0,");

    LlamaConfig config = read(v5);

    assertEquals(500000.0, config.ropeTheta());
    assertEquals(new RopeScaling(32.0, 1.0, 4.0, 8192), config.ropeScaling());
  }

  @Test
  void defaultRopeTypeInRopeParametersMeansNoScaling() throws IOException {
    LlamaConfig config =
        read(minimal("\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 1234.0}"));

    assertNull(config.ropeScaling());
    assertEquals(1234.0, config.ropeTheta());
  }

  @Test
  void appliesHuggingFaceDefaultsForOptionalFields() throws IOException {
    LlamaConfig config = read(minimal(null));

    assertEquals(4, config.numKvHeads());
    assertEquals(16, config.headDim());
    assertEquals(10000.0, config.ropeTheta());
    assertNull(config.ropeScaling());
    assertEquals(false, config.tieWordEmbeddings());
    assertEquals(-1, config.bosTokenId());
    assertArrayEquals(new int[0], config.eosTokenIds());
  }

  @Test
  void acceptsModelTypeLlamaWithoutArchitecturesAndASingleEosId() throws IOException {
    LlamaConfig config =
        read(minimal("\"eos_token_id\": 7").replace("\"architectures\": [\"LlamaForCausalLM\"],", ""));

    assertArrayEquals(new int[] {7}, config.eosTokenIds());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          "num_key_value_heads": 3                    | "num_key_value_heads" = 3 must divide num_attention_heads = 4
          "num_key_value_heads": 0                    | "num_key_value_heads" = 0 must be an integer in [1,
          "hidden_act": "gelu"                        | "hidden_act" = "gelu" must be "silu"
          "attention_bias": true                      | "attention_bias" = true must be false
          "mlp_bias": true                            | "mlp_bias" = true must be false
          "hidden_size": 0                            | "hidden_size" = 0 must be an integer in [1, 65536]
          "hidden_size": 1000000                      | "hidden_size" = 1000000 must be an integer in [1, 65536]
          "hidden_size": "64"                         | "hidden_size" = "64" must be an integer
          "hidden_size": 64.5                         | "hidden_size" = 64.5 must be an integer
          "hidden_size": 99999999999                  | "hidden_size" = 99999999999 must be an integer
          "vocab_size": 8388608                       | "vocab_size" = 8388608 must be an integer in [1, 4194304]
          "num_hidden_layers": 5000                   | "num_hidden_layers" = 5000 must be an integer in [1, 1024]
          "intermediate_size": -1                     | "intermediate_size" = -1 must be an integer
          "max_position_embeddings": 1000000000       | "max_position_embeddings" = 1000000000 must be
          "head_dim": 4096                            | "head_dim" = 4096 must be an integer in [1, 1024]
          "rms_norm_eps": 0                           | "rms_norm_eps" = 0 must be a number in (0.0, 1.0]
          "rms_norm_eps": "tiny"                      | "rms_norm_eps" = "tiny" must be a number
          "rope_theta": -5                            | "rope_theta" = -5 must be a number
          "tie_word_embeddings": "yes"                | "tie_word_embeddings" = "yes" must be true or false
          "bos_token_id": 4096                        | "bos_token_id" = 4096 must be an integer in [0, 99]
          "eos_token_id": [1, "x"]                    | "eos_token_id" = [1,"x"] must be an id or a list of ids
          "eos_token_id": 100                         | "eos_token_id" = 100 must be an integer in [0, 99]
          "architectures": ["GPT2LMHeadModel"]        | "architectures" = ["GPT2LMHeadModel"] must contain "LlamaForCausalLM"
          "architectures": "LlamaForCausalLM"         | "architectures" = "LlamaForCausalLM" must be a list of strings
          "rope_scaling": {"rope_type": "yarn"}       | "rope_scaling.rope_type" = "yarn" is not supported
          "rope_scaling": {"type": "linear"}          | "rope_scaling.type" = "linear" is not supported
          "rope_scaling": [1]                         | "rope_scaling" = [1] must be an object
          "rope_scaling": {"rope_type": "llama3"}     | "rope_scaling.factor" is missing (expected a number)
          "rope_parameters": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 4, "high_freq_factor": 1, "original_max_position_embeddings": 64} | "rope_parameters.high_freq_factor" = 1 must be greater than low_freq_factor = 4.0
          "rope_parameters": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4} | "rope_parameters.original_max_position_embeddings" is missing
          """)
  void rejectsAnInvalidFieldNamingTheFileAndTheField(String field, String expectedMessage)
      throws IOException {
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> read(minimal(field)));

    String message = e.getMessage();
    assertTrue(message.startsWith(dir.resolve("config.json") + ": field "), message);
    assertTrue(message.contains(expectedMessage), message);
  }

  @Test
  void rejectsAMissingRequiredField() throws IOException {
    ModelLoadException e =
        assertThrows(
            ModelLoadException.class,
            () -> read(minimal(null).replace("\"vocab_size\": 100,", "")));

    assertEquals(
        dir.resolve("config.json") + ": field \"vocab_size\" is missing (expected an integer)",
        e.getMessage());
  }

  @Test
  void rejectsHiddenSizeNotDivisibleByHeadsWithoutHeadDim() throws IOException {
    ModelLoadException e =
        assertThrows(
            ModelLoadException.class, () -> read(minimal(null).replace("\"hidden_size\": 64", "\"hidden_size\": 66")));

    assertTrue(e.getMessage().contains("\"num_attention_heads\" = 4 must divide hidden_size = 66"), e.getMessage());
  }

  @Test
  void rejectsAConfigWithNeitherArchitecturesNorModelType() throws IOException {
    String json =
        minimal(null)
            .replace("\"architectures\": [\"LlamaForCausalLM\"],", "")
            .replace("\"model_type\": \"llama\",", "");

    ModelLoadException e = assertThrows(ModelLoadException.class, () -> read(json));

    assertTrue(e.getMessage().contains("\"architectures\" is missing and so is \"model_type\""), e.getMessage());
  }

  @Test
  void rejectsMalformedJsonNamingTheFile() throws IOException {
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> read("{\"hidden_size\": 64,"));

    assertTrue(e.getMessage().startsWith(dir.resolve("config.json") + ": malformed JSON"), e.getMessage());
  }

  @Test
  void rejectsDuplicateKeys() throws IOException {
    ModelLoadException e =
        assertThrows(ModelLoadException.class, () -> read("{\"hidden_size\": 64, \"hidden_size\": 64}"));

    assertTrue(e.getMessage().contains("malformed JSON: Duplicate field 'hidden_size'"), e.getMessage());
  }

  @Test
  void rejectsATopLevelArray() throws IOException {
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> read("[]"));

    assertEquals(dir.resolve("config.json") + ": expected a JSON object at the top level", e.getMessage());
  }

  @Test
  void rejectsAMissingFileNamingIt() {
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> LlamaConfig.read(dir));

    assertEquals(dir.resolve("config.json") + ": file not found", e.getMessage());
  }

  private LlamaConfig read(String json) throws IOException {
    Files.writeString(dir.resolve("config.json"), json);
    return LlamaConfig.read(dir);
  }

  /** A small valid config; {@code extraField} (a "key": value pair) overrides the default of that key. */
  private static String minimal(String extraField) {
    String base =
        """
        {
          "architectures": ["LlamaForCausalLM"],
          "model_type": "llama",
          "hidden_size": 64,
          "num_hidden_layers": 2,
          "num_attention_heads": 4,
          "intermediate_size": 128,
          "vocab_size": 100,
          "rms_norm_eps": 1e-05,
          "max_position_embeddings": 256,
          "torch_dtype": "bfloat16"
        }
        """;
    if (extraField == null) {
      return base;
    }
    String key = extraField.substring(0, extraField.indexOf(':') + 1);
    // Drop the default line for the key so the JSON has no duplicate, then add the override.
    String withoutKey = base.lines().filter(l -> !l.trim().startsWith(key)).reduce("", (a, b) -> a + b + "\n");
    return withoutKey.replaceFirst("\\{", "{\n  " + extraField + ",");
  }
}
