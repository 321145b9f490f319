package org.sparkllm.checkpoint;

import java.util.stream.IntStream;
import org.sparkllm.safetensors.SafetensorsWriter;

/** Streams a tensor's seeded random values into a writer, generating each chunk on all cores. */
final class RandomWeights {
  /** 4 Mi floats (16 MiB) per chunk: enough work to share among threads, little memory. */
  private static final int CHUNK = 1 << 22;
  private static final int SLICE = 1 << 16;

  private RandomWeights() {}

  static void write(PlannedTensor tensor, long seed, SafetensorsWriter writer) {
    long key = CounterRandom.streamKey(seed, tensor.name());
    long total = tensor.elementCount();
    float[] chunk = new float[(int) Math.min(CHUNK, total)];
    for (long start = 0; start < total; start += CHUNK) {
      int length = (int) Math.min(CHUNK, total - start);
      fill(chunk, length, key, start, tensor.mean(), tensor.std());
      writer.write(chunk, 0, length);
    }
  }

  /** Element i of the chunk is value (start + i) of the stream, whichever thread computes it. */
  static void fill(float[] chunk, int length, long key, long start, double mean, double std) {
    int slices = (length + SLICE - 1) / SLICE;
    IntStream.range(0, slices)
        .parallel()
        .forEach(
            slice -> {
              int end = Math.min(length, (slice + 1) * SLICE);
              for (int i = slice * SLICE; i < end; i++) {
                chunk[i] = (float) (mean + std * CounterRandom.normal(key, start + i));
              }
            });
  }
}
