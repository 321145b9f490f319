package org.sparkllm;

import java.nio.file.Path;
import org.sparkllm.checkpoint.CheckpointWriter;
import org.sparkllm.checkpoint.ModelShape;

/** Generated random-weight checkpoints shared by the tests of one build (written once, reused). */
public final class TestModels {
  private static final Path ROOT = Path.of("target", "test-models");

  private TestModels() {}

  public static Path tiny() {
    return CheckpointWriter.ensure(ModelShape.TINY, ROOT);
  }

  public static Path of(ModelShape shape) {
    return CheckpointWriter.ensure(shape, ROOT);
  }
}
