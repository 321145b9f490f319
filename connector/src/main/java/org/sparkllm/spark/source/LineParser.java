package org.sparkllm.spark.source;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;

/**
 * Turns a line into an {@link InputRecord}. In jsonl, string values pass through as they are and
 * other JSON values as their JSON text; a line that is not a JSON object, or has no string prompt,
 * is a record with an error instead of a lost row.
 */
final class LineParser {
  private final InputFormat format;
  private final String promptColumn;
  private final List<String> passThrough;
  private final String path;
  private final ObjectMapper json = new ObjectMapper();

  LineParser(InputFormat format, String promptColumn, List<String> passThrough, String path) {
    this.format = format;
    this.path = path;
    this.promptColumn = promptColumn;
    this.passThrough = passThrough;
  }

  InputRecord parse(SplitLineReader.Line line) {
    String[] fields = new String[passThrough.size()];
    if (format == InputFormat.TEXT) {
      return new InputRecord(line.offset(), fields, line.text(), null);
    }
    String where = where(path, line.offset());
    JsonNode node;
    try {
      node = json.readTree(line.text());
    } catch (JsonProcessingException e) {
      return new InputRecord(line.offset(), fields, null, "malformed JSON in " + where + ": " + e.getOriginalMessage());
    }
    if (node == null || !node.isObject()) {
      return new InputRecord(line.offset(), fields, null, where + " is not a JSON object");
    }
    for (int i = 0; i < fields.length; i++) {
      JsonNode value = node.get(passThrough.get(i));
      fields[i] = value == null || value.isNull() ? null : value.isTextual() ? value.asText() : value.toString();
    }
    JsonNode prompt = node.get(promptColumn);
    if (prompt == null || prompt.isNull()) {
      return new InputRecord(line.offset(), fields, null, "no '" + promptColumn + "' field in " + where);
    }
    if (!prompt.isTextual()) {
      return new InputRecord(line.offset(), fields, null, "'" + promptColumn + "' is not a string in " + where);
    }
    return new InputRecord(line.offset(), fields, prompt.asText(), null);
  }

  /** Names a line in error messages. */
  static String where(String path, long offset) {
    return "the line at byte " + offset + " of " + path;
  }

  /** The line as JSON, or null when it is not valid JSON. */
  static JsonNode parseOrNull(ObjectMapper json, String line) {
    try {
      return json.readTree(line);
    } catch (JsonProcessingException e) {
      return null;
    }
  }
}
