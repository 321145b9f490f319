package org.sparkllm.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.sparkllm.model.ModelLoadException;

/**
 * A JSON file of a model directory, read and checked in Java. Checking here matters for
 * tokenizer.json: handed to the native library unchecked, a broken file would fail inside Rust with
 * a message that does not name the file.
 */
record ModelJsonFile(Path path, String text, JsonNode root) {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  static boolean exists(Path path) {
    return Files.isRegularFile(path);
  }

  /** Reads the file and requires a JSON object at its top level. */
  static ModelJsonFile read(Path path) {
    String text;
    try {
      text = Files.readString(path, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new ModelLoadException(path + " does not exist", e);
    } catch (IOException e) {
      throw new ModelLoadException("cannot read " + path + ": " + e.getMessage(), e);
    }
    JsonNode root;
    try {
      root = MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      throw new ModelLoadException(path + " is not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new ModelLoadException(path + " must hold a JSON object");
    }
    return new ModelJsonFile(path, text, root);
  }
}
