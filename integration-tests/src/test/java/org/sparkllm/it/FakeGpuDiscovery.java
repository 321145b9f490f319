package org.sparkllm.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A GPU discovery script for Spark workers on a machine without GPUs. Each worker that runs it
 * claims the lowest unclaimed address, so the workers of one cluster report distinct GPUs.
 */
final class FakeGpuDiscovery {
  private static final String SCRIPT =
      """
      #!/bin/sh
      # mkdir is atomic, so workers discovering at the same time never claim the same address.
      claims="$(dirname "$0")/claims"
      mkdir -p "$claims"
      n=0
      until mkdir "$claims/$n" 2>/dev/null; do n=$((n + 1)); done
      echo "{\\"name\\":\\"gpu\\",\\"addresses\\":[\\"$n\\"]}"
      """;

  private FakeGpuDiscovery() {}

  /** Writes the script into {@code dir} with no addresses claimed yet, and returns its path. */
  static Path writeScript(Path dir) {
    try {
      deleteRecursively(dir.resolve("claims"));
      Files.createDirectories(dir);
      Path script = dir.resolve("discover-gpus.sh");
      Files.writeString(script, SCRIPT);
      Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
      return script.toAbsolutePath();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
