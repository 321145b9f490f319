package org.sparkllm.backend.cuda;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.cuda.PinnedHostBuffer;
import org.sparkllm.safetensors.HalfFloats;

/**
 * Random bf16 operands of one GEMM shape, on the host and the device, with a double-precision oracle of their
 * product: A [rows, k] stored with row stride lda, W [n, k] scaled by 1/sqrt(k). The lda - k padding elements of
 * each A row are NaN, so a kernel that reads past K poisons its result. Values are uniform in ±scale, never near
 * zero. A row's products are computed on first use and kept, so every M (a prefix of the rows) and every epilogue
 * checked on the same operands shares them.
 */
final class GemmOperands implements AutoCloseable {
  private static final short BF16_NAN = (short) 0x7FC0;

  final int rows;
  final int n;
  final int k;
  final int lda;
  final DeviceBuffer deviceA;
  final DeviceBuffer deviceW;
  private final short[] a;
  private final short[] w;
  private final double[][] products;

  private GemmOperands(int rows, int n, int k, int lda, short[] a, short[] w, DeviceBuffer deviceA,
      DeviceBuffer deviceW) {
    this.rows = rows;
    this.n = n;
    this.k = k;
    this.lda = lda;
    this.a = a;
    this.w = w;
    this.deviceA = deviceA;
    this.deviceW = deviceW;
    this.products = new double[rows][];
  }

  static GemmOperands random(CudaContext context, CudaStream stream, int rows, int n, int k, int lda,
      SplittableRandom random) {
    short[] a = new short[Math.multiplyExact(rows, lda)];
    Arrays.fill(a, BF16_NAN);
    for (int r = 0; r < rows; r++) {
      for (int i = 0; i < k; i++) {
        a[r * lda + i] = randomBf16(1.0, random);
      }
    }
    short[] w = randomBf16(Math.multiplyExact(n, k), 1.0 / Math.sqrt(k), random);
    DeviceBuffer deviceA = upload(context, stream, a);
    try {
      return new GemmOperands(rows, n, k, lda, a, w, deviceA, upload(context, stream, w));
    } catch (RuntimeException e) {
      deviceA.close();
      throw e;
    }
  }

  /** Values uniform in ±scale, never near zero, as bf16 bits (the oracle sees exactly what the GPU sees). */
  static short[] randomBf16(int count, double scale, SplittableRandom random) {
    short[] values = new short[count];
    for (int i = 0; i < count; i++) {
      values[i] = randomBf16(scale, random);
    }
    return values;
  }

  private static short randomBf16(double scale, SplittableRandom random) {
    double u = random.nextDouble() * 2 - 1;
    if (Math.abs(u) < 1e-3) {
      u = 0.5;
    }
    return HalfFloats.floatToBf16((float) (u * scale));
  }

  static DeviceBuffer upload(CudaContext context, CudaStream stream, short[] bits) {
    long bytes = bits.length * 2L;
    DeviceBuffer device = context.allocate(bytes);
    try (PinnedHostBuffer host = context.allocatePinned(bytes)) {
      host.buffer().asShortBuffer().put(bits);
      device.copyFrom(host, bytes, stream);
      stream.synchronize();
    } catch (RuntimeException e) {
      device.close();
      throw e;
    }
    return device;
  }

  /** Rows {@code rowIndices} of A · Wᵀ (n values each) in double; rows not yet known are computed in parallel. */
  double[][] products(int[] rowIndices) {
    Arrays.stream(rowIndices).distinct().filter(r -> products[r] == null).parallel()
        .forEach(r -> products[r] = product(r));
    double[][] out = new double[rowIndices.length][];
    for (int i = 0; i < rowIndices.length; i++) {
      out[i] = products[rowIndices[i]];
    }
    return out;
  }

  private double[] product(int row) {
    float[] x = new float[k];
    for (int i = 0; i < k; i++) {
      x[i] = HalfFloats.bf16ToFloat(a[row * lda + i]);
    }
    double[] out = new double[n];
    for (int col = 0; col < n; col++) {
      int base = col * k;
      double s = 0;
      for (int i = 0; i < k; i++) {
        s += (double) x[i] * HalfFloats.bf16ToFloat(w[base + i]);
      }
      out[col] = s;
    }
    return out;
  }

  @Override
  public void close() {
    deviceA.close();
    deviceW.close();
  }
}
