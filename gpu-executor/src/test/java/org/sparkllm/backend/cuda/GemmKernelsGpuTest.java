package org.sparkllm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.sparkllm.backend.cuda.GemmKernels.Epilogue;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaEvent;
import org.sparkllm.cuda.CudaModule;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.cuda.GpuTests;
import org.sparkllm.cuda.KernelFatbin;
import org.sparkllm.cuda.PinnedHostBuffer;
import org.sparkllm.safetensors.HalfFloats;

/** GEMM kernels against a double-precision oracle computed from the same bf16 inputs, plus a timing print. */
@Tag("gpu")
class GemmKernelsGpuTest {
  private static final int[] TINY_M = {1, 3, 8, 9, 64, 200, 1000};
  private static final long WORKSPACE_BYTES = 64L << 20;
  // Rows of the output the oracle recomputes for large products (13 GFLOP in double would be slow).
  private static final int CHECKED_ROWS = 48;

  private CudaContext context;
  private CudaModule module;
  private CudaStream stream;
  private GemmKernels gemm;

  @BeforeEach
  void requireGpu() {
    GpuTests.assumeCudaDevice();
    context = CudaContext.openPrimary(0);
    module = context.loadModule(KernelFatbin.read());
    stream = context.createStream();
    gemm = new GemmKernels(context, module, WORKSPACE_BYTES);
  }

  @AfterEach
  void release() {
    if (context != null) {
      gemm.close();
      stream.close();
      module.close();
      context.close();
    }
  }

  @Test
  void tinyShapesForEveryEpilogueAndBatch() {
    SplittableRandom random = new SplittableRandom(1);
    for (int m : TINY_M) {
      for (Epilogue e : Epilogue.values()) {
        if (e == Epilogue.SWIGLU_BF16) {
          check(m, 768, 128, e, random);
        } else {
          check(m, 256, 128, e, random);
          check(m, 128, 384, e, random);
        }
      }
    }
  }

  @Test
  void llama1bShapes() {
    SplittableRandom random = new SplittableRandom(2);
    for (int m : new int[] {1, 64, 2048}) {
      check(m, 3072, 2048, Epilogue.STORE_BF16, random);
    }
    check(2048, 3072, 2048, Epilogue.STORE_F32, random);
    for (int m : new int[] {1, 256}) {
      check(m, 2048, 8192, Epilogue.ADD_F32, random);
    }
    for (int m : new int[] {8, 128}) {
      check(m, 16384, 2048, Epilogue.SWIGLU_BF16, random);
    }
  }

  @Test
  void rejectsShapesAndAddressesTheKernelsCannotTake() {
    try (DeviceBuffer buffer = context.allocate(1 << 20)) {
      long p = buffer.address();
      assertRejected("K 96", () -> gemm.run(stream, p, 96, p, p, 64, 4, 64, 96, Epilogue.STORE_F32));
      assertRejected("N 40", () -> gemm.run(stream, p, 64, p, p, 40, 4, 40, 64, Epilogue.STORE_F32));
      assertRejected("M 0", () -> gemm.run(stream, p, 64, p, p, 64, 0, 64, 64, Epilogue.STORE_F32));
      assertRejected("lda 32", () -> gemm.run(stream, p, 32, p, p, 64, 4, 64, 64, Epilogue.STORE_F32));
      assertRejected("lda 68", () -> gemm.run(stream, p, 68, p, p, 64, 4, 64, 64, Epilogue.STORE_F32));
      assertRejected("ldc 16", () -> gemm.run(stream, p, 64, p, p, 16, 4, 64, 64, Epilogue.STORE_BF16));
      assertRejected("ldc 65", () -> gemm.run(stream, p, 64, p, p, 65, 4, 64, 64, Epilogue.STORE_F32));
      assertRejected("0x" + Long.toHexString(p + 8),
          () -> gemm.run(stream, p + 8, 64, p, p, 64, 4, 64, 64, Epilogue.STORE_F32));
      assertRejected("out address", () -> gemm.run(stream, p, 64, p, p + 4, 64, 4, 64, 64, Epilogue.ADD_F32));
    }
  }

  private static void assertRejected(String expected, Runnable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
    assertTrue(e.getMessage().contains(expected), () -> e.getMessage() + " should name " + expected);
  }

  /**
   * Runs [m, k] x [n, k]ᵀ twice on poisoned (or, for ADD_F32, random initial) outputs: the two results must be
   * bit-identical and match the oracle to 1e-3 (fp32 out) or 1e-2 (bf16 out) in ||d|| / ||ref||.
   */
  private void check(int m, int n, int k, Epilogue e, SplittableRandom random) {
    float[] a = randomBf16(m * k, 1.0, random);
    float[] w = randomBf16((long) n * k, 1.0 / Math.sqrt(k), random);
    boolean f32 = e == Epilogue.STORE_F32 || e == Epilogue.ADD_F32;
    int columns = e == Epilogue.SWIGLU_BF16 ? n / 2 : n;
    long outBytes = (long) m * columns * (f32 ? 4 : 2);
    float[] initial = new float[m * columns];
    for (int i = 0; i < initial.length; i++) {
      initial[i] = (float) (random.nextDouble() * 2 - 1);
    }
    try (DeviceBuffer dA = upload(a); DeviceBuffer dW = upload(w); DeviceBuffer dOut = context.allocate(outBytes);
        PinnedHostBuffer host = context.allocatePinned(outBytes)) {
      byte[][] runs = new byte[2][];
      for (int r = 0; r < 2; r++) {
        if (e == Epilogue.ADD_F32) {
          host.buffer().asFloatBuffer().put(initial);
          dOut.copyFrom(host, outBytes, stream);
        } else {
          dOut.fill((byte) 0xFF, stream);  // all-ones bytes: NaN in fp32 and bf16
        }
        gemm.run(stream, dA.address(), k, dW.address(), dOut.address(), columns, m, n, k, e);
        dOut.copyTo(host, outBytes, stream);
        stream.synchronize();
        runs[r] = new byte[(int) outBytes];
        host.buffer().get(runs[r]);
      }
      String what = e + " M=" + m + " N=" + n + " K=" + k;
      assertArrayEquals(runs[0], runs[1], what + ": second run differs");
      double error = relativeError(runs[0], a, w, initial, m, n, k, e);
      double tolerance = f32 ? 1e-3 : 1e-2;
      assertTrue(error < tolerance, what + ": ||d||/||ref|| = " + error);
    }
  }

  /** ||got - ref|| / ||ref|| over all rows, or over CHECKED_ROWS random rows (first and last included) of big products. */
  private static double relativeError(byte[] got, float[] a, float[] w, float[] initial, int m, int n, int k,
      Epilogue e) {
    int[] rows;
    if ((double) m * n * k <= 2e8) {
      rows = IntStream.range(0, m).toArray();
    } else {
      SplittableRandom pick = new SplittableRandom(m * 31L + n);
      rows = IntStream.concat(IntStream.of(0, m - 1), pick.ints(CHECKED_ROWS - 2, 0, m)).distinct().toArray();
    }
    int columns = e == Epilogue.SWIGLU_BF16 ? n / 2 : n;
    ByteBuffer out = ByteBuffer.wrap(got).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    double[][] sums = Arrays.stream(rows).parallel().mapToObj(row -> {
      double[] acc = new double[n];
      for (int col = 0; col < n; col++) {
        double s = 0;
        int wBase = col * k;
        int aBase = row * k;
        for (int i = 0; i < k; i++) {
          s += (double) a[aBase + i] * w[wBase + i];
        }
        acc[col] = s;
      }
      double diff = 0;
      double ref = 0;
      for (int j = 0; j < columns; j++) {
        int at = row * columns + j;
        double want = switch (e) {
          case STORE_F32, STORE_BF16 -> acc[j];
          case ADD_F32 -> initial[at] + acc[j];
          case SWIGLU_BF16 -> acc[2 * j] / (1 + Math.exp(-acc[2 * j])) * acc[2 * j + 1];
        };
        double value = e == Epilogue.STORE_F32 || e == Epilogue.ADD_F32
            ? out.getFloat(at * 4)
            : HalfFloats.bf16ToFloat(out.getShort(at * 2));
        diff += (value - want) * (value - want);  // NaN (an unwritten element) fails the comparison below
        ref += want * want;
      }
      return new double[] {diff, ref};
    }).toArray(double[][]::new);
    double diff = 0;
    double ref = 0;
    for (double[] s : sums) {
      diff += s[0];
      ref += s[1];
    }
    double error = Math.sqrt(diff / ref);
    return Double.isNaN(error) ? Double.POSITIVE_INFINITY : error;
  }

  /** Values uniform in ±scale, never zero, already rounded to bf16 (the oracle sees what the GPU sees). */
  private static float[] randomBf16(long count, double scale, SplittableRandom random) {
    float[] values = new float[Math.toIntExact(count)];
    for (int i = 0; i < values.length; i++) {
      double u = random.nextDouble() * 2 - 1;
      if (Math.abs(u) < 1e-3) {
        u = 0.5;
      }
      values[i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16((float) (u * scale)));
    }
    return values;
  }

  private DeviceBuffer upload(float[] values) {
    long bytes = values.length * 2L;
    DeviceBuffer device = context.allocate(bytes);
    try (PinnedHostBuffer host = context.allocatePinned(bytes)) {
      short[] bits = new short[values.length];
      for (int i = 0; i < bits.length; i++) {
        bits[i] = HalfFloats.floatToBf16(values[i]);
      }
      host.buffer().asShortBuffer().put(bits);
      device.copyFrom(host, bytes, stream);
      stream.synchronize();
    }
    return device;
  }

  /**
   * Decode (M = 1) and prefill (M = 2048) on the 1B gate/up shape 16384 x 2048. Weight copies rotate so the
   * working set (4 x 64 MiB) exceeds the 50 MB L2; median of 25 single runs after 5 warm-ups. Informative.
   */
  @Test
  void timesDecodeAndPrefillOnGateUpShape() {
    int n = 16384;
    int k = 2048;
    int copies = 4;
    SplittableRandom random = new SplittableRandom(3);
    float[] weights = randomBf16((long) n * k, 1.0 / Math.sqrt(k), random);
    float[] activations = randomBf16(2048L * k, 1.0, random);
    DeviceBuffer[] w = new DeviceBuffer[copies];
    try (DeviceBuffer a = upload(activations); DeviceBuffer out = context.allocate(2048L * n * 2);
        CudaEvent start = context.createEvent(); CudaEvent end = context.createEvent()) {
      for (int i = 0; i < copies; i++) {
        w[i] = upload(weights);
      }
      System.out.println("GEMM timings on " + context.deviceName());
      for (int m : new int[] {1, 2048}) {
        for (int i = 0; i < 5; i++) {
          gemm.run(stream, a.address(), k, w[i % copies].address(), out.address(), n, m, n, k, Epilogue.STORE_BF16);
        }
        double[] micros = new double[25];
        for (int i = 0; i < micros.length; i++) {
          start.record(stream);
          gemm.run(stream, a.address(), k, w[i % copies].address(), out.address(), n, m, n, k, Epilogue.STORE_BF16);
          end.record(stream);
          end.synchronize();
          micros[i] = end.millisSince(start) * 1000.0;
        }
        Arrays.sort(micros);
        double median = micros[micros.length / 2];
        double bytes = 2.0 * ((double) n * k + (double) m * k + (double) m * n);
        double gbPerS = bytes / median / 1e3;
        double tflops = GemmKernels.flops(m, n, k) / median / 1e6;
        System.out.printf("  M=%d N=%d K=%d: %.1f us, %.0f GB/s, %.1f TFLOP/s%n", m, n, k, median, gbPerS, tflops);
        assertTrue(median > 0 && gbPerS > 0 && tflops > 0);
      }
    } finally {
      for (DeviceBuffer b : w) {
        if (b != null) {
          b.close();
        }
      }
    }
  }
}
