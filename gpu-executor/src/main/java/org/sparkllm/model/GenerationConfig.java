package org.sparkllm.model;

import java.nio.file.Path;

/**
 * Defaults from a model's {@code generation_config.json}; every field is optional there.
 *
 * @param eosTokenIds stop ids (possibly empty)
 * @param temperature null when absent
 * @param topP null when absent
 * @param topK null when absent
 * STUB: filled by the model-files work.
 */
public record GenerationConfig(int[] eosTokenIds, Double temperature, Double topP, Integer topK) {

  /** Reads {@code dir/generation_config.json}; an absent file gives empty defaults. */
  public static GenerationConfig read(Path dir) {
    throw new UnsupportedOperationException("not yet implemented");
  }
}
