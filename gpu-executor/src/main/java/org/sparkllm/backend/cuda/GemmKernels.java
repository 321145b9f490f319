package org.sparkllm.backend.cuda;

import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;

import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaKernel;
import org.sparkllm.cuda.CudaModule;
import org.sparkllm.cuda.CudaResults;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.cuda.KernelArgs;
import org.sparkllm.cuda.LaunchShape;

/**
 * out = epilogue(A · Wᵀ) for bf16 A [M, K] (row stride lda) and a bf16 Linear weight W [N, K], fp32
 * accumulation (kernels in gemm.cuh). {@link #run} picks the kernel from the host-side shape and only enqueues,
 * so it can be captured into a CUDA graph: M <= 8 streams W through a matvec kernel; larger M uses tensor
 * cores, split along K into a preallocated workspace when the output tiles alone would leave SMs idle.
 */
public final class GemmKernels implements AutoCloseable {

  /** What is done with the accumulator; the ordinal is the kernels' {@code mode}. */
  public enum Epilogue {
    /** out fp32 [M, ldc] = A·Wᵀ. */
    STORE_F32,
    /** out fp32 [M, ldc] += A·Wᵀ (residual add). */
    ADD_F32,
    /** out bf16 [M, ldc] = A·Wᵀ. */
    STORE_BF16,
    /** W rows interleaved gate/up (2j gate, 2j + 1 up); out bf16 [M, ldc >= N/2] = silu(gate) * up. */
    SWIGLU_BF16
  }

  private static final int K_TILE = 64;
  private static final int MATVEC_MAX_M = 8;
  private static final int MATVEC_THREADS = 256;
  private static final int MATVEC_WARPS = MATVEC_THREADS / 32;
  private static final int MAX_SPLITS = 16;
  // Matvec K split: aim for about 48 resident warps per SM, but keep >= 128 16-byte chunks per warp's K range.
  private static final int MATVEC_WARPS_PER_SM = 48;
  private static final int MATVEC_MIN_CHUNKS_PER_PART = 128;
  private static final int REDUCE_THREADS = 256;
  // Split-K partials are written once and read once by the reduce, at about this rate (H100, L2 and HBM mixed).
  private static final double PARTIAL_BYTES_PER_SECOND = 2.5e12;

  /**
   * One tensor-core kernel of gemm.cuh: block tile, threads, dynamic shared memory (STAGES x (BM + BN) x 128 B)
   * and the rate one SM sustains with it (measured on an H100 at M = 2048, used only to compare plans).
   */
  private record TcKernel(CudaKernel kernel, int tileM, int tileN, int threads, int sharedBytes,
      double flopsPerSmPerSecond) {
    int tiles(int m, int n) {
      return ceilDiv(m, tileM) * ceilDiv(n, tileN);
    }
  }

  /** A tensor-core launch: kernel and number of K splits (1: no split). */
  private record TcPlan(TcKernel tc, int splits) {}

  private final TcKernel tcLarge;
  private final TcKernel tcMedium;
  private final TcKernel tcSmall;
  private final CudaKernel splitReduce;
  private final CudaKernel[] matvec = new CudaKernel[MATVEC_MAX_M + 1];
  private final int multiprocessors;
  private final DeviceBuffer workspace;

  /**
   * Looks up the kernels of {@code module}, allows their dynamic shared memory, and allocates the split-K
   * workspace ({@code workspaceBytes}, may be 0: then split-K is never used).
   */
  public GemmKernels(CudaContext context, CudaModule module, long workspaceBytes) {
    if (workspaceBytes < 0) {
      throw new IllegalArgumentException("workspaceBytes " + workspaceBytes + " < 0");
    }
    tcLarge = tcKernel(module, "gemm_bf16_tc_128x256", 128, 256, 256, 3, 2.9e12);
    tcMedium = tcKernel(module, "gemm_bf16_tc_128x128", 128, 128, 256, 4, 2.75e12);
    tcSmall = tcKernel(module, "gemm_bf16_tc_64x128", 64, 128, 128, 4, 1.8e12);
    splitReduce = module.kernel("gemm_splitk_reduce");
    for (int m = 1; m <= MATVEC_MAX_M; m++) {
      matvec[m] = module.kernel("gemm_bf16_matvec_" + m);
    }
    multiprocessors = multiprocessorCount(context);
    workspace = workspaceBytes > 0 ? context.allocate(workspaceBytes) : null;
  }

  private static TcKernel tcKernel(CudaModule module, String name, int tileM, int tileN, int threads, int stages,
      double flopsPerSmPerSecond) {
    CudaKernel kernel = module.kernel(name);
    int shared = stages * (tileM + tileN) * K_TILE * 2;
    kernel.setMaxDynamicSharedBytes(shared);
    return new TcKernel(kernel, tileM, tileN, threads, shared, flopsPerSmPerSecond);
  }

  private static int multiprocessorCount(CudaContext context) {
    CUdevice device = new CUdevice();
    CudaResults.check(cuDeviceGet(device, context.device()), "cuDeviceGet");
    int[] count = new int[1];
    CudaResults.check(cuDeviceGetAttribute(count, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
        device), "cuDeviceGetAttribute(MULTIPROCESSOR_COUNT)");
    return count[0];
  }

  /** Floating-point operations of one [M, K] x [K, N] product. */
  public static double flops(int m, int n, int k) {
    return 2.0 * m * n * k;
  }

  /**
   * Enqueues out = epilogue(A · Wᵀ) on {@code stream}. {@code a}: bf16 [m, k] with row stride {@code lda}
   * elements; {@code w}: bf16 [n, k] contiguous; {@code out}: fp32 or bf16 (by epilogue) with row stride
   * {@code ldc} output elements, n columns (n / 2 for SWIGLU_BF16). No allocation, no synchronisation.
   */
  public void run(CudaStream stream, long a, int lda, long w, long out, int ldc, int m, int n, int k,
      Epilogue epilogue) {
    validate(a, lda, w, out, ldc, m, n, k, epilogue);
    int mode = epilogue.ordinal();
    if (m <= MATVEC_MAX_M) {
      runMatvec(stream, a, lda, w, out, ldc, m, n, k, mode);
      return;
    }
    TcPlan plan = plan(m, n, k);
    TcKernel tc = plan.tc();
    int tiles = tc.tiles(m, n);
    int splits = plan.splits();
    if (splits == 1) {
      tc.kernel().launch(new LaunchShape(tiles, 1, 1, tc.threads(), 1, 1, tc.sharedBytes()), stream,
          tcArgs(a, lda, w, out, ldc, m, n, k, k, mode));
      return;
    }
    // Raw fp32 partials, split z at workspace + z * m * n; the reduce adds them in split order.
    tc.kernel().launch(new LaunchShape(tiles, 1, splits, tc.threads(), 1, 1, tc.sharedBytes()), stream,
        tcArgs(a, lda, w, workspace.address(), n, m, n, k, k / splits, Epilogue.STORE_F32.ordinal()));
    long pairs = (long) m * (n / 2);
    int blocks = (int) Math.min(ceilDiv(pairs, REDUCE_THREADS), 8L * multiprocessors);
    splitReduce.launch(new LaunchShape(blocks, 1, 1, REDUCE_THREADS, 1, 1, 0), stream,
        new KernelArgs().addLong(workspace.address()).addInt(splits).addLong(out).addInt(ldc).addInt(m).addInt(n)
            .addInt(mode));
  }

  private static KernelArgs tcArgs(long a, int lda, long w, long out, int ldc, int m, int n, int k, int kSplit,
      int mode) {
    return new KernelArgs().addLong(a).addInt(lda).addLong(w).addLong(out).addInt(ldc).addInt(m).addInt(n).addInt(k)
        .addInt(kSplit).addInt(mode);
  }

  private void runMatvec(CudaStream stream, long a, int lda, long w, long out, int ldc, int m, int n, int k,
      int mode) {
    int pairs = n / 2;
    int chunks = k / 8;
    // Split each W row pair's K range over more warps (summed in a fixed order in the block) when there are
    // too few pairs to keep enough loads in flight, e.g. N = 2048, K = 8192.
    int kparts = 1;
    while (kparts < MATVEC_WARPS && (long) pairs * kparts < (long) MATVEC_WARPS_PER_SM * multiprocessors
        && chunks / (kparts * 2) >= MATVEC_MIN_CHUNKS_PER_PART) {
      kparts *= 2;
    }
    int blocks = ceilDiv(pairs, MATVEC_WARPS / kparts);
    matvec[m].launch(new LaunchShape(blocks, 1, 1, MATVEC_THREADS, 1, 1, 0), stream,
        new KernelArgs().addLong(a).addInt(lda).addLong(w).addLong(out).addInt(ldc).addInt(n).addInt(k).addInt(mode)
            .addInt(kparts));
  }

  /**
   * Tile shape and K splits with the least estimated time: whole waves of blocks over the SMs, each block
   * costing its tile's share of FLOPs at the kernel's per-SM rate, plus the split-K partials' round trip
   * (s * M * N fp32 written and read). The small tile serves M <= 128 and the 128x128 one M <= 256 (measured
   * best there); above, both 128-row tiles compete. Each split keeps >= 4 k-tiles and must fit the workspace.
   */
  private TcPlan plan(int m, int n, int k) {
    TcKernel[] candidates = m <= 128 ? new TcKernel[] {tcSmall}
        : m <= 256 ? new TcKernel[] {tcMedium} : new TcKernel[] {tcLarge, tcMedium};
    int kTiles = k / K_TILE;
    TcPlan best = null;
    double bestSeconds = Double.MAX_VALUE;
    for (TcKernel tc : candidates) {
      int tiles = tc.tiles(m, n);
      double tileSeconds = 2.0 * tc.tileM() * tc.tileN() * k / tc.flopsPerSmPerSecond();
      for (int s = 1; s <= MAX_SPLITS; s++) {
        if (kTiles % s != 0) {
          continue;
        }
        long partialBytes = (long) s * m * n * 4;
        if (s > 1 && (kTiles / s < 4 || workspace == null || partialBytes > workspace.bytes())) {
          continue;
        }
        double waves = Math.ceil((double) tiles * s / multiprocessors);
        double seconds = waves * tileSeconds / s + (s > 1 ? 2.0 * partialBytes / PARTIAL_BYTES_PER_SECOND : 0);
        if (seconds < bestSeconds * (1 - 1e-9)) {
          bestSeconds = seconds;
          best = new TcPlan(tc, s);
        }
      }
    }
    return best;
  }

  private static void validate(long a, int lda, long w, long out, int ldc, int m, int n, int k, Epilogue epilogue) {
    if (epilogue == null) {
      throw new IllegalArgumentException("epilogue is null");
    }
    if (m < 1) {
      throw new IllegalArgumentException("M " + m + " < 1");
    }
    if (k < K_TILE || k % K_TILE != 0) {
      throw new IllegalArgumentException("K " + k + " is not a positive multiple of " + K_TILE);
    }
    if (n < 16 || n % 16 != 0) {
      throw new IllegalArgumentException("N " + n + " is not a positive multiple of 16");
    }
    if (lda < k || lda % 8 != 0) {
      throw new IllegalArgumentException("lda " + lda + " is below K " + k + " or not a multiple of 8 (16-byte rows)");
    }
    int columns = epilogue == Epilogue.SWIGLU_BF16 ? n / 2 : n;
    if (ldc < columns) {
      throw new IllegalArgumentException("ldc " + ldc + " is below the " + columns + " output columns");
    }
    if (epilogue != Epilogue.SWIGLU_BF16 && ldc % 2 != 0) {
      // Column pairs are stored as one float2 / bf16x2.
      throw new IllegalArgumentException("ldc " + ldc + " is odd");
    }
    checkAligned("A", a);
    checkAligned("W", w);
    checkAligned("out", out);
  }

  private static void checkAligned(String what, long address) {
    if (address == 0 || address % 16 != 0) {
      throw new IllegalArgumentException(what + " address 0x" + Long.toHexString(address) + " is not 16-byte aligned");
    }
  }

  private static int ceilDiv(int x, int y) {
    return (x + y - 1) / y;
  }

  private static long ceilDiv(long x, long y) {
    return (x + y - 1) / y;
  }

  @Override
  public void close() {
    if (workspace != null) {
      workspace.close();
    }
  }
}
