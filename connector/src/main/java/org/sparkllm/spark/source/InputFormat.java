package org.sparkllm.spark.source;

import java.util.List;
import java.util.Locale;
import org.sparkllm.spark.InvalidLlmOptionException;

/** How the llm data source reads prompts from a line of an input file. */
enum InputFormat {
  /** Each line a JSON object with a prompt field; other fields pass through. */
  JSONL,
  /** Each line one prompt. */
  TEXT;

  /** The option's value, or by file names when it is unset: jsonl when every file is .jsonl/.json. */
  static InputFormat of(String option, List<String> files) {
    if (option != null) {
      return switch (option.trim().toLowerCase(Locale.ROOT)) {
        case "jsonl", "json" -> JSONL;
        case "text" -> TEXT;
        default -> throw new InvalidLlmOptionException(
            "option 'format' = '" + option + "' is invalid: it must be jsonl or text");
      };
    }
    boolean allJson = !files.isEmpty() && files.stream().allMatch(InputFormat::looksLikeJson);
    return allJson ? JSONL : TEXT;
  }

  private static boolean looksLikeJson(String file) {
    // A compression suffix (x.jsonl.gz) does not change the format of the lines.
    String name = file.toLowerCase(Locale.ROOT).replaceFirst("\\.(gz|bz2|deflate|zst|lz4|snappy)$", "");
    return name.endsWith(".jsonl") || name.endsWith(".json");
  }
}
