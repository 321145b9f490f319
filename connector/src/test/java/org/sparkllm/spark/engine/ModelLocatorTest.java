package org.sparkllm.spark.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkllm.spark.InvalidLlmOptionException;

class ModelLocatorTest {
  @TempDir Path temp;

  @Test
  void concurrentCopiesOfOneModelEndInOneCompleteDirectory() throws Exception {
    Path source = Files.createDirectories(temp.resolve("src/tiny"));
    Files.writeString(source.resolve("config.json"), "{}");
    Files.write(source.resolve("model.safetensors"), new byte[] {1, 2, 3});
    Path cache = temp.resolve("cache");
    FileSystem fs = FileSystem.getLocal(new Configuration());
    org.apache.hadoop.fs.Path remote = new org.apache.hadoop.fs.Path(source.toUri());

    ExecutorService pool = Executors.newFixedThreadPool(4);
    List<Future<Path>> copies = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      copies.add(pool.submit(() -> ModelLocator.copyOnce(fs, remote, cache)));
    }
    Path first = copies.get(0).get();
    for (Future<Path> copy : copies) {
      assertEquals(first, copy.get());
    }
    pool.shutdown();
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(first.resolve("model.safetensors")));
    try (Stream<Path> entries = Files.list(cache)) {
      assertEquals(List.of(first), entries.toList(), "no temporary directories left");
    }
  }

  @Test
  void missingModelNamesThePath() {
    String path = temp.resolve("absent").toString();
    InvalidLlmOptionException e =
        assertThrows(InvalidLlmOptionException.class, () -> ModelLocator.requireModel(path, new Configuration()));
    assertTrue(e.getMessage().contains(path + "' does not exist"), e.getMessage());
  }
}
