package org.sparkllm.model;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Defaults from a model's {@code generation_config.json}; every field is optional there.
 *
 * @param eosTokenIds stop ids (possibly empty)
 * @param temperature null when absent
 * @param topP null when absent
 * @param topK null when absent
 */
public record GenerationConfig(int[] eosTokenIds, Double temperature, Double topP, Integer topK) {
  private static final double MAX_TEMPERATURE = 100.0;

  /**
   * Reads {@code dir/generation_config.json}; an absent file gives empty defaults.
   *
   * @throws ModelLoadException naming the file and field when the file is malformed
   */
  public static GenerationConfig read(Path dir) {
    Path file = dir.resolve("generation_config.json");
    if (!Files.exists(file)) {
      return new GenerationConfig(new int[0], null, null, null);
    }
    JsonConfigFile json = JsonConfigFile.parse(file);
    // The vocabulary size is not known here; LlamaConfigReader's bound still rules out absurd ids.
    int[] eos = json.optionalIdList("eos_token_id", LlamaConfigReader.MAX_VOCAB_SIZE);
    Double temperature = json.optionalDouble("temperature", 0.0, MAX_TEMPERATURE);
    Double topP = json.optionalDouble("top_p", 0.0, 1.0);
    Integer topK =
        json.has("top_k") ? json.optionalInt("top_k", 0, 0, LlamaConfigReader.MAX_VOCAB_SIZE) : null;
    return new GenerationConfig(eos, temperature, topP, topK);
  }
}
