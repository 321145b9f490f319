package org.sparkllm.backend.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.sparkllm.backend.Sampling;
import org.sparkllm.cuda.CudaKernel;
import org.sparkllm.cuda.CudaModule;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.KernelArgs;
import org.sparkllm.cuda.LaunchShape;

/**
 * Picks each row's next token on the device (kernel sample_tokens, sampling.cuh): greedy, or temperature
 * with top-k, top-p and min-p, drawn from Philox keyed by the row's seed and counter, bit-for-bit
 * reproducible. The number of rows is read from device memory, so one captured launch serves any
 * batch up to its maximum.
 */
public final class DeviceSampler {
  /** Bytes of one row's parameters (struct SampleParams). */
  public static final int PARAMS_BYTES = 32;

  private static final int THREADS = 1024;

  private final CudaKernel kernel;

  public DeviceSampler(CudaModule module) {
    this.kernel = module.kernel("sample_tokens");
  }

  /** Writes row {@code row}'s parameters at byte {@code row * PARAMS_BYTES}, little-endian. */
  public static void writeParams(ByteBuffer buffer, int row, Sampling s) {
    ByteBuffer b = buffer.order() == ByteOrder.LITTLE_ENDIAN
        ? buffer
        : buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    int at = Math.multiplyExact(row, PARAMS_BYTES);
    b.putFloat(at, s.temperature());
    b.putInt(at + 4, s.topK());
    b.putFloat(at + 8, s.topP());
    b.putFloat(at + 12, s.minP());
    b.putLong(at + 16, s.seed());
    b.putInt(at + 24, s.counter());
    b.putInt(at + 28, 0);
  }

  /**
   * Enqueues the sampling of rows {@code 0 .. *rowCount - 1} on {@code stream}.
   *
   * @param logits device address of float logits; row r starts at element {@code r * rowStrideElements}
   * @param rowStrideElements elements between rows (0: every row reads the same logits)
   * @param vocab logits per row
   * @param params device address of {@code maxRows} parameter records ({@link #writeParams})
   * @param rowCount device address of an int: how many rows to sample this time (at most maxRows)
   * @param maxRows the grid size: the largest row count this launch (or a graph holding it) will see
   * @param tokens device address of {@code maxRows} ints; rows at or past *rowCount are left as they are
   */
  public void sample(CudaStream stream, long logits, long rowStrideElements, int vocab, long params, long rowCount,
      int maxRows, long tokens) {
    if (vocab < 1) {
      throw new IllegalArgumentException("vocab must be at least 1, got " + vocab);
    }
    if (maxRows < 1) {
      throw new IllegalArgumentException("maxRows must be at least 1, got " + maxRows);
    }
    if (rowStrideElements < 0) {
      throw new IllegalArgumentException("rowStrideElements must not be negative, got " + rowStrideElements);
    }
    KernelArgs args = new KernelArgs()
        .addLong(logits)
        .addLong(rowStrideElements)
        .addInt(vocab)
        .addLong(params)
        .addLong(rowCount)
        .addLong(tokens);
    kernel.launch(LaunchShape.grid2d(maxRows, 1, THREADS), stream, args);
  }
}
