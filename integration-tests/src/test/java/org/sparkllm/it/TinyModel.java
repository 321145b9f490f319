package org.sparkllm.it;

import java.nio.file.Path;
import org.sparkllm.checkpoint.CheckpointWriter;
import org.sparkllm.checkpoint.ModelShape;

/** The tiny random-weight model every test uses, written once under target/. */
final class TinyModel {
  private TinyModel() {}

  /** An absolute path, since executors run in other working directories. */
  static Path dir() {
    return CheckpointWriter.ensure(ModelShape.TINY, Path.of("target", "models")).toAbsolutePath();
  }
}
