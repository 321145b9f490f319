package org.sparkllm.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointCacheTest {
  @TempDir Path cacheRoot;

  @Test
  void writesOnceAndThenReturnsTheCompleteDirectory() throws IOException {
    AtomicInteger writes = new AtomicInteger();
    Path target = cacheRoot.resolve("tiny-1234");
    CheckpointCache.DirectoryWriter writer =
        dir -> {
          writes.incrementAndGet();
          Files.writeString(dir.resolve("config.json"), "{}");
        };

    assertEquals(target, CheckpointCache.ensure(target, writer));
    assertEquals(target, CheckpointCache.ensure(target, writer));

    assertEquals(1, writes.get());
    assertEquals("{}", Files.readString(target.resolve("config.json")));
    assertEquals(List.of(target), list(cacheRoot));
  }

  @Test
  void aFailedWriteLeavesNeitherTheTargetNorATemporaryDirectory() throws IOException {
    Path target = cacheRoot.resolve("tiny-1234");

    assertThrows(
        UncheckedIOException.class,
        () -> CheckpointCache.ensure(
            target,
            dir -> {
              Files.writeString(dir.resolve("partial"), "x");
              throw new IOException("disk full");
            }));

    assertFalse(Files.exists(target));
    assertEquals(List.of(), list(cacheRoot));
  }

  private static List<Path> list(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.toList();
    }
  }
}
