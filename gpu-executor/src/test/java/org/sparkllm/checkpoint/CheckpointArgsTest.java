package org.sparkllm.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CheckpointArgsTest {
  @Test
  void appliesDefaults() {
    assertEquals(
        new CheckpointArgs(ModelShape.LLAMA_3_2_1B, Path.of("/tmp/m"), 1234, 5_000_000_000L),
        CheckpointArgs.parse(new String[] {"--shape", "llama-3.2-1b", "--out", "/tmp/m"}));
  }

  @Test
  void readsEveryOption() {
    assertEquals(
        new CheckpointArgs(ModelShape.TINY, Path.of("out"), 7, 1000),
        CheckpointArgs.parse(
            new String[] {"--out", "out", "--seed", "7", "--shard-bytes", "1000", "--shape", "tiny"}));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          --shape tiny                           | --shape and --out are required
          --shape tiny --out                     | --out needs a value
          --shape tiny --out o --seed x          | --seed must be an integer, got "x"
          --shape tiny --out o --shard-bytes 0   | --shard-bytes must be positive, got 0
          --shape tiny --out o --verbose 1       | unknown argument --verbose
          --shape huge --out o                   | unknown shape "huge"; known: tiny,
          """)
  void rejectsBadArguments(String args, String message) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> CheckpointArgs.parse(args.split(" ")));

    assertEquals(true, e.getMessage().startsWith(message), e.getMessage());
  }
}
