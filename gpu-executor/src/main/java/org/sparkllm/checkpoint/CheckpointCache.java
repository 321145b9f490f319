package org.sparkllm.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A directory written once and then shared, e.g. by every test that needs a checkpoint. It is written
 * under a temporary name and renamed into place, so a reader (or a concurrent test JVM) never sees a
 * half-written directory: the directory exists only when complete.
 */
final class CheckpointCache {
  /** Fills a fresh, empty directory. */
  interface DirectoryWriter {
    void write(Path dir) throws IOException;
  }

  private CheckpointCache() {}

  static Path ensure(Path target, DirectoryWriter writer) {
    if (Files.isDirectory(target)) {
      return target;
    }
    Path temp = null;
    try {
      Files.createDirectories(target.getParent());
      temp = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".tmp-");
      writer.write(temp);
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
      return target;
    } catch (IOException e) {
      if (Files.isDirectory(target)) {
        // Another process finished the same directory first; its copy is as good as ours.
        return target;
      }
      throw new UncheckedIOException("cannot write " + target, e);
    } finally {
      if (temp != null) {
        deleteRecursively(temp);
      }
    }
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete temporary directory " + dir, e);
    }
  }
}
