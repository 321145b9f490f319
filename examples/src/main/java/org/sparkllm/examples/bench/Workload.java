package org.sparkllm.examples.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.sparkllm.spark.LlmOptions;

/**
 * What both sides of the comparison run: the same prompts and the same llm_generate options
 * resolved against the same {@code spark.llm.*} settings, so the bare engine gets exactly the engine
 * sizing and requests the connector builds.
 *
 * @param settings {@code spark.llm.*} keys and values: the Spark session's conf, and the bare engine's
 */
record Workload(Path model, List<String> prompts, int maxTokens, int warmupTokens, Map<String, String> settings) {

  /**
   * llm_generate's options: greedy, and end-of-sequence ignored so every row yields exactly
   * {@code maxTokens} tokens whichever batch it ran in (the CUDA backend is not batch-invariant, so
   * a random-weight model could otherwise stop at different points on the two sides).
   */
  static Map<String, String> callOptions(int maxTokens) {
    return Map.of(
        "max_tokens", Integer.toString(maxTokens),
        "temperature", "0",
        "ignore_eos", "true",
        "return", "struct");
  }

  LlmOptions options(int tokens) {
    return LlmOptions.resolve(callOptions(tokens), settings::get);
  }

  /** The engine device the connector picks for this backend in local mode (no GPU assigned). */
  String engineDevice() {
    return settings.get(LlmOptions.CONF_PREFIX + "backend").equals("cuda") ? "cuda:0" : "cpu";
  }

  long expectedOutputTokens() {
    return (long) prompts.size() * maxTokens;
  }
}
