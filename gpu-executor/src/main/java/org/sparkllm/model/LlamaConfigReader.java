package org.sparkllm.model;

import java.nio.file.Path;

/** Parses and validates config.json. STUB: filled by the model-files work. */
final class LlamaConfigReader {
  private LlamaConfigReader() {}

  static LlamaConfig read(Path configJson) {
    throw new UnsupportedOperationException("not yet implemented");
  }
}
