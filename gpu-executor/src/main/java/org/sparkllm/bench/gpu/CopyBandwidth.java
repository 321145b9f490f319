package org.sparkllm.bench.gpu;

import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;

import jcuda.driver.CUdeviceptr;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaResults;
import org.sparkllm.cuda.DeviceBuffer;

/**
 * The device-memory bandwidth ceiling: one device-to-device copy between two buffers, timed with CUDA events.
 * It is the floor's denominator for memory-bound work such as batch-1 decode (bytes moved / this rate).
 */
public final class CopyBandwidth {
  public static final long DEFAULT_BYTES = 1L << 30;
  public static final int DEFAULT_ITERATIONS = 20;
  private static final int WARMUP = 3;
  /** A non-zero source: measurements never run on zeros. */
  private static final int FILL_PATTERN = 0x3F5A_C3E1;

  private CopyBandwidth() {}

  /**
   * Copies {@code bytes} from one device buffer to another {@code iterations} times (after warm-up copies) with
   * cuMemcpyDtoDAsync and returns the rate of the median copy in GB/s (10^9 bytes per second), counting both the
   * bytes read and the bytes written: {@code 2 * bytes / time}, the way GPU memory bandwidth is quoted (an H100
   * SXM's 3.35 TB/s, an H200's 4.8 TB/s, of which a copy measured 4.24 TB/s: DESIGN.md section 9).
   */
  public static double measure(CudaContext context, long bytes, int iterations) {
    if (bytes < 4 || bytes % 4 != 0) {
      throw new IllegalArgumentException("bytes must be a positive multiple of 4, got " + bytes);
    }
    try (DeviceBuffer source = context.allocate(bytes);
        DeviceBuffer target = context.allocate(bytes);
        TimedStream stream = new TimedStream(context)) {
      CUdeviceptr from = new CUdeviceptr().withByteOffset(source.address());
      CUdeviceptr to = new CUdeviceptr().withByteOffset(target.address());
      CudaResults.check(cuMemsetD32Async(from, FILL_PATTERN, bytes / 4, stream.handle()), "cuMemsetD32Async");
      double millis = stream.medianMillis(WARMUP, iterations,
          () -> CudaResults.check(cuMemcpyDtoDAsync(to, from, bytes, stream.handle()), "cuMemcpyDtoDAsync"));
      return 2.0 * bytes / (millis * 1e-3) / 1e9;
    }
  }

  public static double measure(CudaContext context) {
    return measure(context, DEFAULT_BYTES, DEFAULT_ITERATIONS);
  }
}
