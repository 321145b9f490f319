package org.sparkllm.safetensors;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Where one tensor lies in a safetensors file, after validation against the file.
 *
 * @param fileOffset absolute byte offset of the tensor's first element in {@code file}
 * @param byteLength elements × dtype size
 */
public record TensorInfo(
    String name, DType dtype, long[] shape, Path file, long fileOffset, long byteLength) {

  public TensorInfo {
    shape = shape.clone();
  }

  public long elementCount() {
    return byteLength / dtype.byteSize();
  }

  public long[] shape() {
    return shape.clone();
  }

  /** The shape as {@code [2048, 512]}, for messages. */
  public String shapeText() {
    return Arrays.toString(shape);
  }
}
