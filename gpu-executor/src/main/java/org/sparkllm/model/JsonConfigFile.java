package org.sparkllm.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Typed, validated access to the fields of a JSON object read from a model file. Every failure is a
 * {@link ModelLoadException} that names the file, the field and what was expected, because the person
 * who reads it has to fix the file.
 */
final class JsonConfigFile {
  /** Config files are a few KiB; a larger one is not a config and is not read into memory. */
  private static final long MAX_FILE_BYTES = 16L << 20;

  private static final ObjectMapper MAPPER =
      new ObjectMapper()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private final Path file;
  private final String prefix;
  private final JsonNode object;

  private JsonConfigFile(Path file, String prefix, JsonNode object) {
    this.file = file;
    this.prefix = prefix;
    this.object = object;
  }

  /** Parses {@code file}, which must hold one JSON object. */
  static JsonConfigFile parse(Path file) {
    JsonNode root;
    try {
      long size = Files.size(file);
      if (size > MAX_FILE_BYTES) {
        throw new ModelLoadException(
            file + ": " + size + " bytes is too large for a config file (at most " + MAX_FILE_BYTES + ")");
      }
      root = MAPPER.readTree(Files.readAllBytes(file));
    } catch (NoSuchFileException e) {
      throw new ModelLoadException(file + ": file not found", e);
    } catch (JsonProcessingException e) {
      throw new ModelLoadException(file + ": malformed JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new ModelLoadException(file + ": cannot read: " + e, e);
    }
    if (root == null || !root.isObject()) {
      throw new ModelLoadException(file + ": expected a JSON object at the top level");
    }
    return new JsonConfigFile(file, "", root);
  }

  Path file() {
    return file;
  }

  /** True when the field is present and not JSON null (HF writes null for "not set"). */
  boolean has(String name) {
    JsonNode node = object.get(name);
    return node != null && !node.isNull();
  }

  /** A nested object, or null when absent or JSON null; its errors name the field as "outer.inner". */
  JsonConfigFile optionalObject(String name) {
    if (!has(name)) {
      return null;
    }
    JsonNode node = object.get(name);
    if (!node.isObject()) {
      throw mustBe(name, node, "an object");
    }
    return new JsonConfigFile(file, qualified(name) + ".", node);
  }

  int requiredInt(String name, int min, int max) {
    return checkedInt(name, require(name, "an integer"), min, max);
  }

  int optionalInt(String name, int absent, int min, int max) {
    return has(name) ? checkedInt(name, object.get(name), min, max) : absent;
  }

  double requiredDouble(String name, double minExclusive, double maxInclusive) {
    return checkedDouble(name, require(name, "a number"), minExclusive, maxInclusive);
  }

  Double optionalDouble(String name, double minInclusive, double maxInclusive) {
    if (!has(name)) {
      return null;
    }
    JsonNode node = object.get(name);
    if (!node.isNumber()) {
      throw mustBe(name, node, "a number");
    }
    double value = node.doubleValue();
    if (!(value >= minInclusive && value <= maxInclusive)) {
      throw mustBe(name, node, "a number in [" + minInclusive + ", " + maxInclusive + "]");
    }
    return value;
  }

  boolean optionalBoolean(String name, boolean absent) {
    if (!has(name)) {
      return absent;
    }
    JsonNode node = object.get(name);
    if (!node.isBoolean()) {
      throw mustBe(name, node, "true or false");
    }
    return node.booleanValue();
  }

  String optionalString(String name) {
    if (!has(name)) {
      return null;
    }
    JsonNode node = object.get(name);
    if (!node.isTextual()) {
      throw mustBe(name, node, "a string");
    }
    return node.textValue();
  }

  /** A list of strings; null when absent. */
  String[] optionalStrings(String name) {
    if (!has(name)) {
      return null;
    }
    JsonNode node = object.get(name);
    if (!node.isArray()) {
      throw mustBe(name, node, "a list of strings");
    }
    String[] values = new String[node.size()];
    for (int i = 0; i < values.length; i++) {
      if (!node.get(i).isTextual()) {
        throw mustBe(name, node, "a list of strings");
      }
      values[i] = node.get(i).textValue();
    }
    return values;
  }

  /** HF token-id fields hold one id or a list of ids; absent or null gives an empty array. */
  int[] optionalIdList(String name, int limitExclusive) {
    if (!has(name)) {
      return new int[0];
    }
    JsonNode node = object.get(name);
    if (!node.isArray()) {
      return new int[] {checkedInt(name, node, 0, limitExclusive - 1)};
    }
    int[] ids = new int[node.size()];
    for (int i = 0; i < ids.length; i++) {
      JsonNode element = node.get(i);
      if (!element.canConvertToInt() || !element.isIntegralNumber()
          || element.intValue() < 0 || element.intValue() >= limitExclusive) {
        throw mustBe(name, node, "an id or a list of ids in [0, " + limitExclusive + ")");
      }
      ids[i] = element.intValue();
    }
    return ids;
  }

  /** An error about a field of this object: {@code file: field "name" = value problem}. */
  ModelLoadException invalid(String name, String problem) {
    JsonNode node = object.get(name);
    String shown = node == null ? "" : " = " + node;
    return new ModelLoadException(file + ": field \"" + qualified(name) + "\"" + shown + " " + problem);
  }

  private JsonNode require(String name, String expected) {
    if (!has(name)) {
      throw new ModelLoadException(
          file + ": field \"" + qualified(name) + "\" is missing (expected " + expected + ")");
    }
    return object.get(name);
  }

  private int checkedInt(String name, JsonNode node, int min, int max) {
    if (!node.isIntegralNumber() || !node.canConvertToInt()
        || node.intValue() < min || node.intValue() > max) {
      throw mustBe(name, node, "an integer in [" + min + ", " + max + "]");
    }
    return node.intValue();
  }

  private double checkedDouble(String name, JsonNode node, double minExclusive, double maxInclusive) {
    if (!node.isNumber() || !(node.doubleValue() > minExclusive && node.doubleValue() <= maxInclusive)) {
      throw mustBe(name, node, "a number in (" + minExclusive + ", " + maxInclusive + "]");
    }
    return node.doubleValue();
  }

  private ModelLoadException mustBe(String name, JsonNode node, String expected) {
    return new ModelLoadException(
        file + ": field \"" + qualified(name) + "\" = " + node + " must be " + expected);
  }

  private String qualified(String name) {
    return prefix + name;
  }
}
