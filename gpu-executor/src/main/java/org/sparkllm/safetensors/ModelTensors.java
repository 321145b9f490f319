package org.sparkllm.safetensors;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.sparkllm.model.ModelLoadException;

/**
 * All tensors of a model directory: {@code model.safetensors}, or the shards listed in
 * {@code model.safetensors.index.json}. Thread-safe; close it to release the files.
 */
public final class ModelTensors implements AutoCloseable {
  static final String SINGLE_FILE_NAME = "model.safetensors";

  /** The file named in messages about a tensor that is not there: the index or the single file. */
  private final Path catalogue;
  private final List<SafetensorsFile> files;
  private final Map<String, TensorInfo> tensors;
  private final Map<Path, SafetensorsFile> fileByPath;

  private ModelTensors(Path catalogue, List<SafetensorsFile> files, Map<String, TensorInfo> tensors) {
    this.catalogue = catalogue;
    this.files = files;
    this.tensors = Collections.unmodifiableMap(tensors);
    this.fileByPath = new LinkedHashMap<>();
    files.forEach(f -> fileByPath.put(f.path(), f));
  }

  /**
   * Opens and validates the model's safetensors files.
   *
   * @throws ModelLoadException naming the directory and the expected file names when there are none,
   *     or naming the file and problem when one is invalid
   */
  public static ModelTensors open(Path modelDir) {
    return open(modelDir, SafetensorsFile.DEFAULT_WINDOW_BYTES);
  }

  static ModelTensors open(Path modelDir, long windowBytes) {
    Path index = modelDir.resolve(SafetensorsIndex.FILE_NAME);
    if (Files.isRegularFile(index)) {
      return openSharded(modelDir, index, windowBytes);
    }
    Path single = modelDir.resolve(SINGLE_FILE_NAME);
    if (Files.isRegularFile(single)) {
      SafetensorsFile file = SafetensorsFile.open(single, windowBytes);
      return new ModelTensors(single, List.of(file), new LinkedHashMap<>(file.tensors()));
    }
    throw new ModelLoadException(
        modelDir + ": no model weights (expected " + SINGLE_FILE_NAME + " or "
            + SafetensorsIndex.FILE_NAME + ")");
  }

  private static ModelTensors openSharded(Path modelDir, Path index, long windowBytes) {
    Map<String, String> weightMap = SafetensorsIndex.readWeightMap(index);
    Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    try {
      for (Map.Entry<String, String> entry : weightMap.entrySet()) {
        String shardName = entry.getValue();
        SafetensorsFile shard = shards.get(shardName);
        if (shard == null) {
          Path shardPath = modelDir.resolve(shardName);
          if (!Files.isRegularFile(shardPath)) {
            throw new ModelLoadException(
                index + ": shard \"" + shardName + "\" of tensor \"" + entry.getKey()
                    + "\" does not exist in " + modelDir);
          }
          shard = SafetensorsFile.open(shardPath, windowBytes);
          shards.put(shardName, shard);
        }
        TensorInfo info = shard.tensors().get(entry.getKey());
        if (info == null) {
          throw new ModelLoadException(
              index + ": tensor \"" + entry.getKey() + "\" is not in its shard " + shard.path());
        }
        tensors.put(entry.getKey(), info);
      }
    } catch (RuntimeException e) {
      shards.values().forEach(SafetensorsFile::close);
      throw e;
    }
    return new ModelTensors(index, new ArrayList<>(shards.values()), tensors);
  }

  public Set<String> names() {
    return tensors.keySet();
  }

  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /**
   * Where the tensor lies and its dtype and shape.
   *
   * @throws ModelLoadException naming the file and tensor if it is missing
   */
  public TensorInfo info(String name) {
    TensorInfo info = tensors.get(name);
    if (info == null) {
      throw new ModelLoadException(catalogue + ": no tensor \"" + name + "\"");
    }
    return info;
  }

  /**
   * The tensor's values converted to float32, after checking its shape.
   *
   * @throws ModelLoadException naming the file and tensor if it is missing or its shape differs from
   *     {@code expectedShape}
   */
  public float[] readFloats(String name, long... expectedShape) {
    TensorInfo info = info(name);
    if (!Arrays.equals(info.shape(), expectedShape)) {
      throw new ModelLoadException(
          info.file() + ": tensor \"" + name + "\" has shape " + info.shapeText() + ", expected "
              + Arrays.toString(expectedShape));
    }
    return fileByPath.get(info.file()).readFloats(info);
  }

  @Override
  public void close() {
    files.forEach(SafetensorsFile::close);
  }
}
