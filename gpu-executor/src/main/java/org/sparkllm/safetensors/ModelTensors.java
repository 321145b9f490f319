package org.sparkllm.safetensors;

import java.nio.file.Path;
import java.util.Set;

/**
 * All tensors of a model directory: {@code model.safetensors}, or the shards listed in
 * {@code model.safetensors.index.json}. STUB: filled by the model-files work.
 */
public final class ModelTensors implements AutoCloseable {

  public static ModelTensors open(Path modelDir) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  public Set<String> names() {
    throw new UnsupportedOperationException("not yet implemented");
  }

  public boolean contains(String name) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  /**
   * The tensor's values converted to float32, after checking its shape.
   *
   * @throws org.sparkllm.model.ModelLoadException naming the file and tensor if it is missing or its
   *     shape differs from {@code expectedShape}
   */
  public float[] readFloats(String name, long... expectedShape) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  @Override
  public void close() {}
}
