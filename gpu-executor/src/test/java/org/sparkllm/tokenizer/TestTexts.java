package org.sparkllm.tokenizer;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/** The multilingual round-trip texts of src/test/resources/tokenizer/texts.json. */
final class TestTexts {
  private TestTexts() {}

  static List<String> load() {
    try (InputStream in = TestTexts.class.getResourceAsStream("/tokenizer/texts.json")) {
      return new ObjectMapper().readValue(in, new TypeReference<List<String>>() {});
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
