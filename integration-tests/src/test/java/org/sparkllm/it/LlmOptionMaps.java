package org.sparkllm.it;

import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.map;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.sql.Column;

/** One set of llm_generate options written as SQL text or as a Column, so both APIs get the same. */
final class LlmOptionMaps {
  private LlmOptionMaps() {}

  /** {@code map('k1', 'v1', ...)}; values are strings, as a SQL map needs one value type. */
  static String sql(Map<String, String> options) {
    return options.entrySet().stream()
        .map(e -> quote(e.getKey()) + ", " + quote(e.getValue()))
        .collect(Collectors.joining(", ", "map(", ")"));
  }

  static Column column(Map<String, String> options) {
    List<Column> keysAndValues = new ArrayList<>();
    options.forEach(
        (k, v) -> {
          keysAndValues.add(lit(k));
          keysAndValues.add(lit(v));
        });
    return map(keysAndValues.toArray(Column[]::new));
  }

  private static String quote(String s) {
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }
}
