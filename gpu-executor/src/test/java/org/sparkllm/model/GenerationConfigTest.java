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

class GenerationConfigTest {
  @TempDir Path dir;

  @Test
  void anAbsentFileGivesEmptyDefaults() {
    GenerationConfig config = GenerationConfig.read(dir);

    assertArrayEquals(new int[0], config.eosTokenIds());
    assertNull(config.temperature());
    assertNull(config.topP());
    assertNull(config.topK());
  }

  @Test
  void readsTheLlama32InstructGenerationConfig() throws IOException {
    write(
        """
        {"bos_token_id": 128000, "do_sample": true, "eos_token_id": [128001, 128008, 128009],
         "temperature": 0.6, "top_p": 0.9, "transformers_version": "4.45.0.dev0"}
        """);

    GenerationConfig config = GenerationConfig.read(dir);

    assertArrayEquals(new int[] {128001, 128008, 128009}, config.eosTokenIds());
    assertEquals(0.6, config.temperature());
    assertEquals(0.9, config.topP());
    assertNull(config.topK());
  }

  @Test
  void readsASingleEosIdAndTopK() throws IOException {
    write("{\"eos_token_id\": 2, \"top_k\": 40}");

    GenerationConfig config = GenerationConfig.read(dir);

    assertArrayEquals(new int[] {2}, config.eosTokenIds());
    assertEquals(40, config.topK());
  }

  @Test
  void rejectsAWrongTypeNamingTheFileAndField() throws IOException {
    write("{\"top_p\": \"high\"}");

    ModelLoadException e = assertThrows(ModelLoadException.class, () -> GenerationConfig.read(dir));

    assertEquals(
        dir.resolve("generation_config.json") + ": field \"top_p\" = \"high\" must be a number",
        e.getMessage());
  }

  @Test
  void rejectsAnOutOfRangeTopP() throws IOException {
    write("{\"top_p\": 1.5}");

    ModelLoadException e = assertThrows(ModelLoadException.class, () -> GenerationConfig.read(dir));

    assertTrue(e.getMessage().contains("field \"top_p\" = 1.5 must be a number in [0.0, 1.0]"), e.getMessage());
  }

  @Test
  void rejectsMalformedJsonNamingTheFile() throws IOException {
    write("{\"eos_token_id\": [1, 2");

    ModelLoadException e = assertThrows(ModelLoadException.class, () -> GenerationConfig.read(dir));

    assertTrue(
        e.getMessage().startsWith(dir.resolve("generation_config.json") + ": malformed JSON"),
        e.getMessage());
  }

  private void write(String json) throws IOException {
    Files.writeString(dir.resolve("generation_config.json"), json);
  }
}
