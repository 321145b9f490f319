package org.sparkllm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
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

/**
 * GEMM kernels against a double-precision oracle computed from the same bf16 inputs, plus a timing print that
 * compares the wgmma kernels with the mma.sync ones.
 */
@Tag("gpu")
class GemmKernelsGpuTest {
  private static final int[] TINY_M = {1, 3, 8, 9, 64, 200, 1000};
  // Decode (matvec), batched decode, a ragged M, prefill.
  private static final int[] LLAMA_M = {1, 64, 100, 256, 2048};
  // (N, K) of Llama-3.2-1B's matmuls: fused QKV, interleaved gate/up, o_proj, down_proj, LM head.
  private static final int[][] LLAMA_SHAPES = {{3072, 2048}, {16384, 2048}, {2048, 2048}, {2048, 8192},
      {128256, 2048}};
  private static final int LM_HEAD_N = 128256;
  // The LM head runs on the rows whose logits are wanted: at most a decode batch.
  private static final int LM_HEAD_MAX_M = 256;
  private static final long WORKSPACE_BYTES = 64L << 20;
  // Rows of the output the oracle recomputes for large products (13 GFLOP in double would be slow).
  private static final int CHECKED_ROWS = 48;

  private CudaContext context;
  private CudaModule module;
  private CudaStream stream;
  private GemmKernels gemm;
  private GemmKernels mmaSync;

  @BeforeEach
  void requireGpu() {
    GpuTests.assumeCudaDevice();
    context = CudaContext.openPrimary(0);
    module = context.loadModule(KernelFatbin.read());
    stream = context.createStream();
    gemm = new GemmKernels(context, module, WORKSPACE_BYTES);
    mmaSync = new GemmKernels(context, module, WORKSPACE_BYTES, GemmKernels.TensorCores.MMA_SYNC);
  }

  @AfterEach
  void release() {
    if (context != null) {
      mmaSync.close();
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

  /** Every Llama-1B matmul shape, every epilogue, M from decode to prefill: wgmma (and matvec at M = 1). */
  @Test
  void llama1bShapesForEveryEpilogueAndBatch() {
    SplittableRandom random = new SplittableRandom(2);
    for (int[] shape : LLAMA_SHAPES) {
      int n = shape[0];
      int k = shape[1];
      int maxM = n == LM_HEAD_N ? LM_HEAD_MAX_M : 2048;
      try (GemmOperands ops = GemmOperands.random(context, stream, maxM, n, k, k, random)) {
        for (int m : LLAMA_M) {
          if (m > maxM) {
            continue;
          }
          for (Epilogue e : Epilogue.values()) {
            check(gemm, ops, m, e, columns(n, e), random);
          }
        }
      }
    }
  }

  /**
   * N = 5 x 64 (a partial last tile for every wgmma tile width), K = 9 x 64, A rows padded to lda = K + 8 with NaN
   * (read past K and the result is NaN), output rows padded to ldc = columns + 8 (written past N and the padding
   * changes).
   */
  @Test
  void oddShapeWithPaddedRows() {
    SplittableRandom random = new SplittableRandom(3);
    int n = 320;
    int k = 576;
    try (GemmOperands ops = GemmOperands.random(context, stream, 1000, n, k, k + 8, random)) {
      for (int m : new int[] {9, 100, 1000}) {
        for (Epilogue e : Epilogue.values()) {
          check(gemm, ops, m, e, columns(n, e) + 8, random);
        }
      }
    }
  }

  /** N a multiple of 16 but not of 64 is served by the mma.sync kernels (each of their tile shapes by M). */
  @Test
  void mmaSyncServesNNotAMultipleOf64() {
    SplittableRandom random = new SplittableRandom(4);
    int n = 208;
    int k = 384;
    try (GemmOperands ops = GemmOperands.random(context, stream, 300, n, k, k, random)) {
      for (int m : new int[] {9, 200, 300}) {
        for (Epilogue e : Epilogue.values()) {
          check(gemm, ops, m, e, columns(n, e), random);
        }
      }
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

  private static int columns(int n, Epilogue e) {
    return e == Epilogue.SWIGLU_BF16 ? n / 2 : n;
  }

  /** {@link #check(GemmKernels, GemmOperands, int, Epilogue, int, SplittableRandom)} on fresh operands of m rows. */
  private void check(int m, int n, int k, Epilogue e, SplittableRandom random) {
    try (GemmOperands ops = GemmOperands.random(context, stream, m, n, k, k, random)) {
      check(gemm, ops, m, e, columns(n, e), random);
    }
  }

  /**
   * Runs the first m rows of {@code ops} twice on poisoned (or, for ADD_F32, random initial) outputs of row stride
   * ldc: the two results must be bit-identical, the ldc padding of each row untouched, and the result must match
   * the oracle to 1e-3 (fp32 out) or 1e-2 (bf16 out) in ||d|| / ||ref||.
   */
  private void check(GemmKernels kernels, GemmOperands ops, int m, Epilogue e, int ldc, SplittableRandom random) {
    boolean f32 = e == Epilogue.STORE_F32 || e == Epilogue.ADD_F32;
    int elementBytes = f32 ? 4 : 2;
    int columns = columns(ops.n, e);
    long outBytes = (long) m * ldc * elementBytes;
    byte[] before = new byte[Math.toIntExact(outBytes)];
    if (e == Epilogue.ADD_F32) {
      FloatBuffer initial = ByteBuffer.wrap(before).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
      while (initial.hasRemaining()) {
        initial.put((float) (random.nextDouble() * 2 - 1));
      }
    } else {
      Arrays.fill(before, (byte) 0xFF);  // all-ones bytes: NaN in fp32 and bf16
    }
    try (DeviceBuffer dOut = context.allocate(outBytes); PinnedHostBuffer host = context.allocatePinned(outBytes)) {
      byte[][] runs = new byte[2][];
      for (int r = 0; r < 2; r++) {
        host.buffer().put(before);
        dOut.copyFrom(host, outBytes, stream);
        kernels.run(stream, ops.deviceA.address(), ops.lda, ops.deviceW.address(), dOut.address(), ldc, m, ops.n,
            ops.k, e);
        dOut.copyTo(host, outBytes, stream);
        stream.synchronize();
        runs[r] = new byte[before.length];
        host.buffer().get(runs[r]);
      }
      String what = e + " M=" + m + " N=" + ops.n + " K=" + ops.k + " lda=" + ops.lda + " ldc=" + ldc + " ("
          + kernels.describePlan(m, ops.n, ops.k) + ")";
      assertArrayEquals(runs[0], runs[1], what + ": second run differs");
      for (int row = 0; row < m; row++) {
        int from = (row * ldc + columns) * elementBytes;
        int to = (row + 1) * ldc * elementBytes;
        assertArrayEquals(Arrays.copyOfRange(before, from, to), Arrays.copyOfRange(runs[0], from, to),
            what + ": row " + row + " written past its " + columns + " columns");
      }
      double error = relativeError(runs[0], before, ops, m, ldc, e);
      double tolerance = f32 ? 1e-3 : 1e-2;
      assertTrue(error < tolerance, what + ": ||d||/||ref|| = " + error);
    }
  }

  /** ||got - ref|| / ||ref|| over all rows, or over CHECKED_ROWS random rows (first and last included) of big products. */
  private static double relativeError(byte[] got, byte[] before, GemmOperands ops, int m, int ldc, Epilogue e) {
    int n = ops.n;
    int[] rows;
    if ((double) m * n * ops.k <= 2e8) {
      rows = IntStream.range(0, m).toArray();
    } else {
      SplittableRandom pick = new SplittableRandom(m * 31L + n);
      rows = IntStream.concat(IntStream.of(0, m - 1), pick.ints(CHECKED_ROWS - 2, 0, m)).distinct().toArray();
    }
    double[][] products = ops.products(rows);
    int columns = columns(n, e);
    ByteBuffer out = ByteBuffer.wrap(got).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer initial = ByteBuffer.wrap(before).order(ByteOrder.LITTLE_ENDIAN);
    double diff = 0;
    double ref = 0;
    for (int i = 0; i < rows.length; i++) {
      double[] acc = products[i];
      for (int j = 0; j < columns; j++) {
        int at = rows[i] * ldc + j;
        double want = switch (e) {
          case STORE_F32, STORE_BF16 -> acc[j];
          case ADD_F32 -> initial.getFloat(at * 4) + acc[j];
          case SWIGLU_BF16 -> acc[2 * j] / (1 + Math.exp(-acc[2 * j])) * acc[2 * j + 1];
        };
        double value = e == Epilogue.STORE_F32 || e == Epilogue.ADD_F32
            ? out.getFloat(at * 4)
            : HalfFloats.bf16ToFloat(out.getShort(at * 2));
        diff += (value - want) * (value - want);  // NaN (an unwritten element) fails the comparison below
        ref += want * want;
      }
    }
    double error = Math.sqrt(diff / ref);
    return Double.isNaN(error) ? Double.POSITIVE_INFINITY : error;
  }

  /**
   * Llama-1B's four layer matmuls, each with the epilogue the backend gives it, at M = 2048 (prefill) and M = 256
   * (batched decode), on the wgmma kernels and on the mma.sync kernels; then the M = 1 matvec on gate/up. Weight
   * copies rotate so that each shape's weights in flight exceed the 50 MB L2 (>= 128 MiB); A stays L2-resident as
   * it does in a forward pass. A sample is the mean of a batch of back-to-back launches (launch latency hidden,
   * as in a graph); median of 11 samples after 3 warm-up batches. Informative.
   */
  @Test
  void timesWgmmaAgainstMmaSyncOnLlama1bShapes() {
    Object[][] layer = {{3072, 2048, Epilogue.STORE_F32}, {16384, 2048, Epilogue.SWIGLU_BF16},
        {2048, 2048, Epilogue.ADD_F32}, {2048, 8192, Epilogue.ADD_F32}};
    int maxM = 2048;
    SplittableRandom random = new SplittableRandom(5);
    try (DeviceBuffer a = GemmOperands.upload(context, stream, GemmOperands.randomBf16(maxM * 8192, 1.0, random));
        DeviceBuffer out = context.allocate((long) maxM * 16384 * 4);
        CudaEvent start = context.createEvent(); CudaEvent end = context.createEvent()) {
      out.fill((byte) 0, stream);
      System.out.println("GEMM timings on " + context.deviceName() + " (wgmma | mma.sync)");
      double[] layerMicros = new double[2];
      for (Object[] shape : layer) {
        int n = (int) shape[0];
        int k = (int) shape[1];
        Epilogue e = (Epilogue) shape[2];
        DeviceBuffer[] w = rotatedWeights(n, k, random);
        try {
          for (int m : new int[] {2048, 256}) {
            double wgmmaMicros = medianMicros(gemm, a, w, out, m, n, k, e, start, end);
            double mmaSyncMicros = medianMicros(mmaSync, a, w, out, m, n, k, e, start, end);
            double flops = GemmKernels.flops(m, n, k);
            System.out.printf("  M=%d N=%d K=%d %s: %.1f us %.0f TFLOP/s (%s) | %.1f us %.0f TFLOP/s (%s) | x%.2f%n",
                m, n, k, e, wgmmaMicros, flops / wgmmaMicros / 1e6, gemm.describePlan(m, n, k), mmaSyncMicros,
                flops / mmaSyncMicros / 1e6, mmaSync.describePlan(m, n, k), mmaSyncMicros / wgmmaMicros);
            assertTrue(wgmmaMicros > 0 && mmaSyncMicros > 0);
            if (m == maxM) {
              layerMicros[0] += wgmmaMicros;
              layerMicros[1] += mmaSyncMicros;
            }
          }
          if (n == 16384) {
            double micros = medianMicros(gemm, a, w, out, 1, n, k, e, start, end);
            double bytes = 2.0 * ((double) n * k + k + n / 2);
            System.out.printf("  M=1 N=%d K=%d %s: %.1f us, %.0f GB/s (%s)%n", n, k, e, micros, bytes / micros / 1e3,
                gemm.describePlan(1, n, k));
          }
        } finally {
          for (DeviceBuffer b : w) {
            b.close();
          }
        }
      }
      double layerFlops = 0;
      for (Object[] shape : layer) {
        layerFlops += GemmKernels.flops(maxM, (int) shape[0], (int) shape[1]);
      }
      System.out.printf("  one layer's matmuls at M=%d: %.1f us %.0f TFLOP/s | %.1f us %.0f TFLOP/s%n", maxM,
          layerMicros[0], layerFlops / layerMicros[0] / 1e6, layerMicros[1], layerFlops / layerMicros[1] / 1e6);
    }
  }

  /** Copies of one random [n, k] weight, enough of them to hold >= 128 MiB, at least 2. */
  private DeviceBuffer[] rotatedWeights(int n, int k, SplittableRandom random) {
    short[] weights = GemmOperands.randomBf16(n * k, 1.0 / Math.sqrt(k), random);
    int copies = (int) Math.max(2, (128L << 20) / (2L * n * k));
    DeviceBuffer[] w = new DeviceBuffer[copies];
    for (int i = 0; i < copies; i++) {
      w[i] = GemmOperands.upload(context, stream, weights);
    }
    return w;
  }

  private double medianMicros(GemmKernels kernels, DeviceBuffer a, DeviceBuffer[] w, DeviceBuffer out, int m, int n,
      int k, Epilogue e, CudaEvent start, CudaEvent end) {
    int batch = 10;
    int warmUps = 3;
    double[] micros = new double[11];
    int launch = 0;
    for (int s = -warmUps; s < micros.length; s++) {
      start.record(stream);
      for (int i = 0; i < batch; i++) {
        kernels.run(stream, a.address(), k, w[launch++ % w.length].address(), out.address(), columns(n, e), m, n, k,
            e);
      }
      end.record(stream);
      end.synchronize();
      if (s >= 0) {
        micros[s] = end.millisSince(start) * 1000.0 / batch;
      }
    }
    Arrays.sort(micros);
    return micros[micros.length / 2];
  }
}
