package org.sparkllm.bench.gpu;

import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import java.util.SplittableRandom;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaResults;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.safetensors.HalfFloats;

/**
 * The matmul ceiling: cuBLAS's bf16 GEMM (fp32 accumulation, default algorithm), called through JNA direct
 * mapping, timed with CUDA events. The library is found by {@link CublasLibrary}; where there is none,
 * {@link #available()} is false and {@link #status()} says why.
 *
 * <p>Shapes follow the engine's linear layers: {@code out[M,N] = A[M,K] · W[N,K]ᵀ}, all row-major. cuBLAS is
 * column-major, where those buffers read as Aᵀ [K,M], Wᵀ [K,N] and outᵀ [N,M], so this asks cuBLAS for
 * {@code outᵀ = W · Aᵀ}: transa = T on W (lda = K), transb = N on A (ldb = K), m = N, n = M, ldc = N.
 */
public final class CublasMatmul implements AutoCloseable {
  private static final int CUBLAS_OP_N = 0;
  private static final int CUBLAS_OP_T = 1;
  private static final int CUDA_R_16BF = 14;
  private static final int CUBLAS_COMPUTE_32F = 68;
  private static final int CUBLAS_GEMM_DEFAULT = -1;
  private static final int WARMUP = 5;
  public static final int DEFAULT_ITERATIONS = 20;

  /** @param library the file loaded (or the one that failed to load), null where none was found */
  public record Status(boolean available, String library, String version, String reason) {}

  /** Where the library is, looked up once (a directory listing, so it is cheap on machines without CUDA). */
  private static final CublasLibrary.Located LOCATED = CublasLibrary.locate();
  private static volatile Status status;

  private final TimedStream stream;
  private final long handle;
  private final Memory one = new Memory(4);
  private final Memory zero = new Memory(4);
  private boolean closed;

  /** The direct mapping, bound when first used: only after {@link #status()} found a library. */
  private static final class Api {
    static {
      if (LOCATED.library() == null) {
        throw new UnsatisfiedLinkError(LOCATED.reason());
      }
      if (LOCATED.ltLibrary() != null) {
        NativeLibrary.getInstance(LOCATED.ltLibrary().toString());
      }
      Native.register(Api.class, NativeLibrary.getInstance(LOCATED.library().toString()));
    }

    private Api() {}

    static native int cublasCreate_v2(long[] handle);

    static native int cublasDestroy_v2(long handle);

    static native int cublasSetStream_v2(long handle, long stream);

    /** libraryPropertyType: 0 major, 1 minor, 2 patch. */
    static native int cublasGetProperty(int type, int[] value);

    // Pointers (handle, matrices) are passed as 64-bit integers: the same registers and stack slots on x86-64.
    static native int cublasGemmEx(long handle, int transa, int transb, int m, int n, int k,
        com.sun.jna.Pointer alpha, long a, int aType, int lda, long b, int bType, int ldb,
        com.sun.jna.Pointer beta, long c, int cType, int ldc, int computeType, int algo);
  }

  private CublasMatmul(CudaContext context) {
    Status s = status();
    if (!s.available()) {
      throw new IllegalStateException("cuBLAS is not available: " + s.reason());
    }
    one.setFloat(0, 1f);
    zero.setFloat(0, 0f);
    this.stream = new TimedStream(context);
    long[] out = new long[1];
    try {
      check(Api.cublasCreate_v2(out), "cublasCreate_v2");
    } catch (RuntimeException | LinkageError e) {
      stream.close();
      throw e;
    }
    this.handle = out[0];
    try {
      check(Api.cublasSetStream_v2(handle, stream.address()), "cublasSetStream_v2");
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  /** A cuBLAS handle on the current (primary) context, enqueueing on a stream of its own. */
  public static CublasMatmul open(CudaContext context) {
    return new CublasMatmul(context);
  }

  /** Whether cuBLAS loads, which file, its version, or why not; probed once. */
  public static Status status() {
    Status s = status;
    if (s == null) {
      s = probe();
      status = s;
    }
    return s;
  }

  public static boolean available() {
    return status().available();
  }

  private static Status probe() {
    if (LOCATED.library() == null) {
      return new Status(false, null, null, LOCATED.reason());
    }
    String file = LOCATED.library().toString();
    try {
      int[] major = new int[1];
      int[] minor = new int[1];
      int[] patch = new int[1];
      check(Api.cublasGetProperty(0, major), "cublasGetProperty");
      check(Api.cublasGetProperty(1, minor), "cublasGetProperty");
      check(Api.cublasGetProperty(2, patch), "cublasGetProperty");
      return new Status(true, file, major[0] + "." + minor[0] + "." + patch[0], LOCATED.reason());
    } catch (LinkageError | IllegalStateException e) {
      String detail = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
      return new Status(false, file, null, "cannot use " + file + ": " + e.getClass().getSimpleName() + " "
          + detail);
    }
  }

  /**
   * Enqueues {@code out[M,N] = a[M,K] · w[N,K]ᵀ} (bf16 row-major device buffers, fp32 accumulation) on this
   * object's stream; {@link #synchronize()} waits for it.
   */
  public void multiplyTransposed(long a, long w, long out, int m, int n, int k) {
    if (m < 1 || n < 1 || k < 1) {
      throw new IllegalArgumentException("m, n, k must be positive: " + m + ", " + n + ", " + k);
    }
    check(Api.cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k,
        one, w, CUDA_R_16BF, k, a, CUDA_R_16BF, k,
        zero, out, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT), "cublasGemmEx");
  }

  public void synchronize() {
    stream.synchronize();
  }

  /**
   * The rate of cuBLAS's bf16 GEMM on {@code out[M,N] = A[M,K] · W[N,K]ᵀ} in TFLOP/s (2·M·N·K floating-point
   * operations per product, 10^12 per second) for the median of {@code iterations} timed runs after warm-up, on
   * random non-zero inputs. Throws IllegalStateException where cuBLAS is not {@link #available()}.
   */
  public static double measure(CudaContext context, int m, int n, int k, int iterations) {
    try (DeviceBuffer a = context.allocate(2L * m * k);
        DeviceBuffer w = context.allocate(2L * n * k);
        DeviceBuffer out = context.allocate(2L * m * n);
        CublasMatmul blas = open(context)) {
      fillRandom(a, 1);
      fillRandom(w, 2);
      double millis = blas.stream.medianMillis(WARMUP, iterations,
          () -> blas.multiplyTransposed(a.address(), w.address(), out.address(), m, n, k));
      return 2.0 * m * n * k / (millis * 1e-3) / 1e12;
    }
  }

  /**
   * Fills a buffer with random bf16 values in ±[0.5, 1) — never zero, so the timing is that of real data —
   * repeating one 4 MiB block, which is random enough for timing and quick to make.
   */
  private static void fillRandom(DeviceBuffer buffer, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    short[] block = new short[(int) Math.min(buffer.bytes() / 2, 2L << 20)];
    for (int i = 0; i < block.length; i++) {
      float magnitude = 0.5f + 0.5f * (float) random.nextDouble();
      block[i] = HalfFloats.floatToBf16(random.nextBoolean() ? magnitude : -magnitude);
    }
    long blockBytes = 2L * block.length;
    for (long offset = 0; offset < buffer.bytes(); offset += blockBytes) {
      long count = Math.min(blockBytes, buffer.bytes() - offset);
      CudaResults.check(cuMemcpyHtoD(new CUdeviceptr().withByteOffset(buffer.address() + offset),
          Pointer.to(block), count), "cuMemcpyHtoD");
    }
  }

  private static void check(int cublasStatus, String call) {
    if (cublasStatus != 0) {
      throw new IllegalStateException(call + " failed: " + statusName(cublasStatus) + " (" + cublasStatus + ")");
    }
  }

  private static String statusName(int code) {
    return switch (code) {
      case 1 -> "CUBLAS_STATUS_NOT_INITIALIZED";
      case 3 -> "CUBLAS_STATUS_ALLOC_FAILED";
      case 7 -> "CUBLAS_STATUS_INVALID_VALUE";
      case 8 -> "CUBLAS_STATUS_ARCH_MISMATCH";
      case 11 -> "CUBLAS_STATUS_MAPPING_ERROR";
      case 13 -> "CUBLAS_STATUS_EXECUTION_FAILED";
      case 14 -> "CUBLAS_STATUS_INTERNAL_ERROR";
      case 15 -> "CUBLAS_STATUS_NOT_SUPPORTED";
      case 16 -> "CUBLAS_STATUS_LICENSE_ERROR";
      default -> "cuBLAS status";
    };
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      try {
        check(Api.cublasDestroy_v2(handle), "cublasDestroy_v2");
      } finally {
        stream.close();
      }
    }
  }
}
