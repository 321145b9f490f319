package org.sparkllm.spark.source;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.sparkllm.spark.InvalidLlmOptionException;
import org.sparkllm.spark.LlmOptions;

/**
 * The options of one {@code spark.read.format("llm")}: the source's own (input files and how to read
 * them) and the generation options, which {@link LlmOptions} resolves exactly as for llm_generate.
 *
 * @param format the option as given, null to decide by file names
 */
public record SourceOptions(
    List<String> paths,
    String format,
    String promptColumn,
    long maxSplitBytes,
    int schemaSampleLines,
    LlmOptions llm)
    implements Serializable {

  /** The source's own options and what they take. */
  public static final Map<String, String> SOURCE_OPTIONS = sourceOptions();

  /** Set by DataFrameReader.load(path) and load(paths...). */
  private static final List<String> PATH_KEYS = List.of("path", "paths");

  private static Map<String, String> sourceOptions() {
    Map<String, String> o = new LinkedHashMap<>();
    o.put("format", "jsonl or text (default: jsonl when every file ends in .jsonl or .json, else text)");
    o.put("prompt_column", "the JSON field holding the prompt (default prompt)");
    o.put("max_split_bytes", "largest byte range of a file one task reads, integer >= 1 (default 64 MB)");
    o.put("schema_sample_lines", "JSON lines read to infer the pass-through fields (default 1000)");
    return Collections.unmodifiableMap(o);
  }

  static SourceOptions parse(Map<String, String> options, Function<String, String> conf) {
    Map<String, String> own = new HashMap<>();
    Map<String, String> generation = new HashMap<>();
    for (Map.Entry<String, String> e : options.entrySet()) {
      String name = e.getKey().toLowerCase(Locale.ROOT);
      if (SOURCE_OPTIONS.containsKey(name) || PATH_KEYS.contains(name)) {
        own.put(name, e.getValue());
      } else if (LlmOptions.OPTIONS.containsKey(name)) {
        generation.put(name, e.getValue());
      } else {
        List<String> valid = new ArrayList<>(SOURCE_OPTIONS.keySet());
        valid.addAll(LlmOptions.OPTIONS.keySet());
        throw new InvalidLlmOptionException(
            "unknown option '" + name + "'; valid options: " + String.join(", ", valid));
      }
    }
    String promptColumn = own.getOrDefault("prompt_column", "prompt");
    if (promptColumn.isBlank()) {
      throw new InvalidLlmOptionException("option 'prompt_column' is empty");
    }
    return new SourceOptions(
        paths(own),
        own.get("format"),
        promptColumn,
        positive(own, "max_split_bytes", 64L << 20),
        (int) Math.min(Integer.MAX_VALUE, positive(own, "schema_sample_lines", 1000)),
        LlmOptions.resolve(generation, conf));
  }

  private static List<String> paths(Map<String, String> own) {
    List<String> paths = new ArrayList<>();
    if (own.containsKey("path")) {
      paths.add(own.get("path"));
    }
    if (own.containsKey("paths")) {
      try {
        paths.addAll(Arrays.asList(new ObjectMapper().readValue(own.get("paths"), String[].class)));
      } catch (JsonProcessingException e) {
        throw new InvalidLlmOptionException("option 'paths' must be a JSON array of strings: " + own.get("paths"));
      }
    }
    if (paths.isEmpty()) {
      throw new InvalidLlmOptionException("no input: give the prompt files to load(path)");
    }
    return List.copyOf(paths);
  }

  private static long positive(Map<String, String> own, String name, long fallback) {
    String value = own.get(name);
    if (value == null) {
      return fallback;
    }
    try {
      long parsed = Long.parseLong(value.trim());
      if (parsed >= 1) {
        return parsed;
      }
    } catch (NumberFormatException e) {
      // reported below with the expected form
    }
    throw new InvalidLlmOptionException(
        "option '" + name + "' = '" + value + "' is invalid: it must be an integer >= 1");
  }
}
