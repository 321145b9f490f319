package org.sparkllm.checkpoint;

import java.nio.file.Path;

/** The command line of {@link CheckpointWriter}. */
record CheckpointArgs(ModelShape shape, Path out, long seed, long shardBytes) {
  static final String USAGE =
      "usage: CheckpointWriter --shape NAME --out DIR [--seed N (default "
          + CheckpointWriter.DEFAULT_SEED + ")] [--shard-bytes N (default "
          + CheckpointWriter.DEFAULT_SHARD_BYTES + ")]";

  /** @throws IllegalArgumentException saying which argument is wrong */
  static CheckpointArgs parse(String[] args) {
    ModelShape shape = null;
    Path out = null;
    long seed = CheckpointWriter.DEFAULT_SEED;
    long shardBytes = CheckpointWriter.DEFAULT_SHARD_BYTES;
    for (int i = 0; i < args.length; i += 2) {
      String flag = args[i];
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      String value = args[i + 1];
      switch (flag) {
        case "--shape" -> shape = ModelShape.fromCliName(value);
        case "--out" -> out = Path.of(value);
        case "--seed" -> seed = parseLong(flag, value);
        case "--shard-bytes" -> {
          shardBytes = parseLong(flag, value);
          if (shardBytes <= 0) {
            throw new IllegalArgumentException("--shard-bytes must be positive, got " + value);
          }
        }
        default -> throw new IllegalArgumentException("unknown argument " + flag);
      }
    }
    if (shape == null || out == null) {
      throw new IllegalArgumentException("--shape and --out are required");
    }
    return new CheckpointArgs(shape, out, seed, shardBytes);
  }

  private static long parseLong(String flag, String value) {
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " must be an integer, got \"" + value + "\"");
    }
  }
}
