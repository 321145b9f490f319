package org.sparkllm.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.sparkllm.model.ModelLoadException;

/**
 * What the engine needs from tokenizer_config.json: the chat template and the bos/eos token texts.
 * The file is optional (base models may have none). Newer checkpoints keep the template in
 * chat_template.jinja instead; it is used when tokenizer_config.json has none.
 *
 * @param chatTemplate null when the model has no (default) chat template
 * @param templateFile the file the template came from, for error messages
 */
record TokenizerConfigFile(String chatTemplate, Path templateFile, String bosToken,
    String eosToken) {

  static final String FILE_NAME = "tokenizer_config.json";
  static final String JINJA_FILE_NAME = "chat_template.jinja";

  static TokenizerConfigFile read(Path modelDir) {
    Path configPath = modelDir.resolve(FILE_NAME);
    String template = null;
    Path templateFile = configPath;
    String bos = null;
    String eos = null;
    if (ModelJsonFile.exists(configPath)) {
      JsonNode root = ModelJsonFile.read(configPath).root();
      template = chatTemplate(root.get("chat_template"), configPath);
      bos = tokenText(root.get("bos_token"), "bos_token", configPath);
      eos = tokenText(root.get("eos_token"), "eos_token", configPath);
    }
    Path jinjaPath = modelDir.resolve(JINJA_FILE_NAME);
    if (template == null && Files.isRegularFile(jinjaPath)) {
      template = readJinja(jinjaPath);
      templateFile = jinjaPath;
    }
    return new TokenizerConfigFile(template, templateFile, bos, eos);
  }

  /** A string, or a list of {name, template} of which the one named "default" is used. */
  private static String chatTemplate(JsonNode node, Path file) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (node.isTextual()) {
      return node.asText();
    }
    if (node.isArray()) {
      for (JsonNode named : node) {
        if (named.isObject() && "default".equals(named.path("name").asText(null))
            && named.path("template").isTextual()) {
          return named.get("template").asText();
        }
      }
      return null;
    }
    throw new ModelLoadException(file + ": chat_template must be a string or a list of "
        + "{name, template} objects");
  }

  /** A string, or an AddedToken object {"content": ...}. */
  private static String tokenText(JsonNode node, String field, Path file) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (node.isTextual()) {
      return node.asText();
    }
    if (node.isObject() && node.path("content").isTextual()) {
      return node.get("content").asText();
    }
    throw new ModelLoadException(file + ": " + field
        + " must be a string or an object with a string \"content\"");
  }

  private static String readJinja(Path path) {
    try {
      return Files.readString(path, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ModelLoadException("cannot read " + path + ": " + e.getMessage(), e);
    }
  }
}
