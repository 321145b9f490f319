package org.sparkllm.bench.gpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.cuda.GpuTests;
import org.sparkllm.cuda.PinnedHostBuffer;
import org.sparkllm.safetensors.HalfFloats;

/** The measured ceilings are plausible for a datacenter GPU, and the cuBLAS mapping computes the right product. */
@Tag("gpu")
class CeilingsGpuTest {
  @BeforeEach
  void requireGpu() {
    GpuTests.assumeCudaDevice();
  }

  @Test
  void deviceCopyBandwidthIsThatOfHbm() {
    try (CudaContext context = CudaContext.openPrimary(0)) {
      double gbPerSecond = CopyBandwidth.measure(context);
      System.out.printf("%s: device-to-device copy %.0f GB/s (read + write, 1 GiB, median of %d)%n",
          context.deviceName(), gbPerSecond, CopyBandwidth.DEFAULT_ITERATIONS);
      // H100 PCIe 2.0 TB/s, SXM 3.35 TB/s, H200 4.8 TB/s (a copy reaches ~85% of that); PCIe-class rates are < 100.
      assertTrue(gbPerSecond > 500, "copy bandwidth " + gbPerSecond + " GB/s");
    }
  }

  @Test
  void cublasBf16GemmRate() {
    requireCublas();
    try (CudaContext context = CudaContext.openPrimary(0)) {
      int size = 8192;
      double tflops = CublasMatmul.measure(context, size, size, size, CublasMatmul.DEFAULT_ITERATIONS);
      System.out.printf("%s: cuBLAS %s (%s) bf16 GEMM %d^3: %.0f TFLOP/s%n", context.deviceName(),
          CublasMatmul.status().version(), CublasMatmul.status().library(), size, tflops);
      // Dense bf16 peak: H100 SXM ~990, H200 ~990, H100 PCIe ~760; cuBLAS reaches well over half of it.
      assertTrue(tflops > 100, "cuBLAS bf16 rate " + tflops + " TFLOP/s");
    }
  }

  @Test
  void cublasComputesActivationsTimesTransposedWeights() {
    requireCublas();
    // M is odd and not a multiple of 8, so rows and columns cannot be confused by a lucky shape.
    int m = 13;
    int n = 48;
    int k = 72;
    SplittableRandom random = new SplittableRandom(42);
    short[] a = randomBf16(random, m * k);
    short[] w = randomBf16(random, n * k);
    double[] expected = new double[m * n];
    for (int row = 0; row < m; row++) {
      for (int col = 0; col < n; col++) {
        double sum = 0;
        for (int i = 0; i < k; i++) {
          sum += (double) HalfFloats.bf16ToFloat(a[row * k + i]) * HalfFloats.bf16ToFloat(w[col * k + i]);
        }
        expected[row * n + col] = sum;
      }
    }
    short[] actual;
    try (CudaContext context = CudaContext.openPrimary(0);
        CudaStream stream = context.createStream();
        DeviceBuffer aDevice = upload(context, stream, a);
        DeviceBuffer wDevice = upload(context, stream, w);
        DeviceBuffer outDevice = context.allocate(2L * m * n);
        PinnedHostBuffer host = context.allocatePinned(2L * m * n);
        CublasMatmul blas = CublasMatmul.open(context)) {
      outDevice.fill((byte) 0xFF, stream); // NaN: a product that writes nothing cannot pass
      stream.synchronize();
      blas.multiplyTransposed(aDevice.address(), wDevice.address(), outDevice.address(), m, n, k);
      blas.synchronize();
      outDevice.copyTo(host, 2L * m * n, stream);
      stream.synchronize();
      actual = new short[m * n];
      host.buffer().asShortBuffer().get(actual);
    }
    double diff = 0;
    double ref = 0;
    for (int i = 0; i < m * n; i++) {
      double d = HalfFloats.bf16ToFloat(actual[i]) - expected[i];
      diff += d * d;
      ref += expected[i] * expected[i];
    }
    double relative = Math.sqrt(diff / ref);
    System.out.printf("cuBLAS A·Wᵀ [%d,%d]x[%d,%d]: ||out - ref|| / ||ref|| = %.2e%n", m, k, n, k, relative);
    // bf16 output rounding alone is ~2^-9 relative; a transposed or mis-strided product is ~1.
    assertTrue(relative < 5e-3, "relative error " + relative);
  }

  private static void requireCublas() {
    CublasMatmul.Status status = CublasMatmul.status();
    Assumptions.assumeTrue(status.available(), () -> "cuBLAS not available: " + status.reason());
  }

  /** Random bf16 values in ±[0.25, 1.25), never zero. */
  private static short[] randomBf16(SplittableRandom random, int count) {
    short[] values = new short[count];
    for (int i = 0; i < count; i++) {
      float magnitude = 0.25f + (float) random.nextDouble();
      values[i] = HalfFloats.floatToBf16(random.nextBoolean() ? magnitude : -magnitude);
    }
    return values;
  }

  private static DeviceBuffer upload(CudaContext context, CudaStream stream, short[] values) {
    long bytes = 2L * values.length;
    DeviceBuffer device = context.allocate(bytes);
    try (PinnedHostBuffer host = context.allocatePinned(bytes)) {
      ByteBuffer buffer = host.buffer();
      buffer.asShortBuffer().put(values);
      device.copyFrom(host, bytes, stream);
      stream.synchronize();
    }
    return device;
  }
}
