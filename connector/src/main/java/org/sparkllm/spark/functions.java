package org.sparkllm.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;

/**
 * DataFrame API of spark-llm. The calls resolve on the server through the registered SQL function,
 * so they work the same from Java, Scala, PySpark ({@code call_function}) and Spark Connect:
 *
 * <pre>{@code
 * df.withColumn("out", llm_generate(col("prompt"), Map.of("max_tokens", "32")))
 * }</pre>
 */
public final class functions {
  private functions() {}

  /** Completes each prompt with the session's default options ({@code spark.llm.*}). */
  public static Column llm_generate(Column prompt) {
    return org.apache.spark.sql.functions.call_function("llm_generate", prompt);
  }

  /** Completes each prompt; {@code options} are the names of {@link LlmOptions#OPTIONS}. */
  public static Column llm_generate(Column prompt, Map<String, String> options) {
    if (options.isEmpty()) {
      return llm_generate(prompt);
    }
    List<Column> keyValues = new ArrayList<>();
    options.forEach(
        (k, v) -> {
          keyValues.add(org.apache.spark.sql.functions.lit(k));
          keyValues.add(org.apache.spark.sql.functions.lit(v));
        });
    Column map = org.apache.spark.sql.functions.map(keyValues.toArray(new Column[0]));
    return org.apache.spark.sql.functions.call_function("llm_generate", prompt, map);
  }
}
