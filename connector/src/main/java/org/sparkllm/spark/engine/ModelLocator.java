package org.sparkllm.spark.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparkllm.spark.InvalidLlmOptionException;

/**
 * Finds a model directory given as a local path or a Hadoop file system URI. Models on a remote file
 * system are copied once per node into a cache directory, through a temporary directory and an
 * atomic rename, so executors sharing a node never see a half-written copy.
 */
public final class ModelLocator {
  private ModelLocator() {}

  /** Fails, naming the path, unless {@code model} is a directory holding config.json. */
  public static void requireModel(String model, Configuration hadoopConf) {
    try {
      Path dir = new Path(model);
      FileSystem fs = dir.getFileSystem(hadoopConf);
      if (!fs.exists(new Path(dir, "config.json"))) {
        throw new InvalidLlmOptionException(
            "model path '" + model + "' "
                + (fs.exists(dir) ? "has no config.json" : "does not exist")
                + "; give a Hugging Face model directory (local path or Hadoop file system URI)");
      }
    } catch (IOException | IllegalArgumentException e) {
      if (e instanceof InvalidLlmOptionException) {
        throw (InvalidLlmOptionException) e;
      }
      throw new InvalidLlmOptionException("model path '" + model + "' cannot be read: " + e);
    }
  }

  /** The model as a local directory, copying it into {@code cacheDir} first when it is remote. */
  public static java.nio.file.Path localize(String model, String cacheDir, Configuration hadoopConf) {
    URI uri = new Path(model).toUri();
    if (uri.getScheme() == null || uri.getScheme().equals("file")) {
      return java.nio.file.Path.of(uri.getPath());
    }
    try {
      Path remote = new Path(model);
      return copyOnce(remote.getFileSystem(hadoopConf), remote, java.nio.file.Path.of(cacheDir));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy model " + model + " to " + cacheDir, e);
    }
  }

  /**
   * Copies {@code remote} into {@code cacheDir/<name>-<hash of its URI and time>} unless that exists;
   * a changed remote model gets a new directory instead of mixing files.
   */
  static java.nio.file.Path copyOnce(FileSystem fs, Path remote, java.nio.file.Path cacheDir)
      throws IOException {
    FileStatus status = fs.getFileStatus(remote);
    Path qualified = fs.makeQualified(remote);
    String key = qualified + "@" + status.getModificationTime();
    String name =
        qualified.getName()
            + "-"
            + UUID.nameUUIDFromBytes(key.getBytes(StandardCharsets.UTF_8)).toString().substring(0, 8);
    java.nio.file.Path target = cacheDir.resolve(name);
    if (Files.isDirectory(target)) {
      return target;
    }
    Files.createDirectories(cacheDir);
    java.nio.file.Path temp = cacheDir.resolve(name + ".tmp-" + UUID.randomUUID());
    Files.createDirectories(temp);
    try {
      for (FileStatus file : fs.listStatus(remote)) {
        if (file.isFile()) {
          fs.copyToLocalFile(false, file.getPath(), new Path(temp.resolve(file.getPath().getName()).toUri()), true);
        }
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      // The rename fails when another executor finished the same copy first; its copy is complete.
      if (!Files.isDirectory(target)) {
        throw e;
      }
    } finally {
      deleteRecursively(temp);
    }
    return target;
  }

  private static void deleteRecursively(java.nio.file.Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<java.nio.file.Path> paths = Files.walk(dir)) {
      for (java.nio.file.Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
