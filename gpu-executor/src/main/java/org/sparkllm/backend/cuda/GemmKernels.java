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
 * accumulation (kernels in gemm.cuh and gemm_wgmma.cuh). {@link #run} picks the kernel from the host-side shape
 * and only enqueues, so it can be captured into a CUDA graph: M <= 8 streams W through a matvec kernel; larger M
 * uses tensor cores, split along K into a preallocated workspace when the output tiles alone would leave SMs
 * idle. The tensor-core kernels are Hopper wgmma kernels fed by TMA where N is a multiple of 64, and mma.sync
 * kernels fed by cp.async for the other multiples of 16. The TMA descriptors a wgmma launch needs are encoded on
 * first use of an (operand, shape) and cached ({@link GemmTensorMaps}).
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

  static final int K_TILE = 64;
  /** The most rows a GEMM runs as a matvec (CUDA cores, K parts); above, on tensor cores. */
  public static final int MATVEC_MAX_M = 8;
  private static final int MATVEC_THREADS = 256;
  private static final int MATVEC_WARPS = MATVEC_THREADS / 32;
  private static final int MAX_SPLITS = 16;
  // Matvec K split: aim for about 48 resident warps per SM, but keep >= 128 16-byte chunks per warp's K range.
  private static final int MATVEC_WARPS_PER_SM = 48;
  private static final int MATVEC_MIN_CHUNKS_PER_PART = 128;
  private static final int REDUCE_THREADS = 256;
  // Split-K partials are written once and read once by the reduce, at about this rate (H100, L2 and HBM mixed).
  private static final double PARTIAL_BYTES_PER_SECOND = 2.5e12;
  // The wgmma path takes N a multiple of 64, which every Llama shape is (vocab 128256 = 64 x 2004). The kernel
  // itself needs only N even (TMA zero-fills W rows past N and the epilogue drops their columns); the other
  // multiples of 16 stay on the mma.sync kernels, which are tested there.
  private static final int WGMMA_N_MULTIPLE = 64;
  // Distinct (activation buffer, M) pairs seen by eager prefill steps; each map is 128 bytes.
  private static final int MAX_TENSOR_MAPS = 4096;

  /** Which tensor-core kernels serve M > 8 where N allows both. */
  enum TensorCores {
    /** Hopper wgmma + TMA (gemm_wgmma.cuh); the default. */
    WGMMA,
    /** mma.sync + cp.async (gemm.cuh): what serves N not a multiple of 64; selectable for comparisons. */
    MMA_SYNC
  }

  /**
   * One tensor-core kernel: block tile, threads, dynamic shared memory and the rate one SM sustains with it (used
   * only to compare plans: measured on an H100 at M = 2048 for mma.sync, estimated for wgmma until measured).
   */
  private record TcKernel(CudaKernel kernel, int tileM, int tileN, int threads, int sharedBytes,
      double flopsPerSmPerSecond) {
    int tiles(int m, int n) {
      return ceilDiv(m, tileM) * ceilDiv(n, tileN);
    }
  }

  /** A tensor-core launch: kernel and number of K splits (1: no split). */
  private record TcPlan(TcKernel tc, int splits) {}

  private final TensorCores tensorCores;
  private final TcKernel tcLarge;
  private final TcKernel tcMedium;
  private final TcKernel tcSmall;
  private final TcKernel[] wgmma;
  private final CudaKernel splitReduce;
  private final CudaKernel[] matvec = new CudaKernel[MATVEC_MAX_M + 1];
  private final int multiprocessors;
  private final DeviceBuffer workspace;
  private final GemmTensorMaps tensorMaps = new GemmTensorMaps(MAX_TENSOR_MAPS);

  /**
   * Looks up the kernels of {@code module}, allows their dynamic shared memory, and allocates the split-K
   * workspace ({@code workspaceBytes}, may be 0: then split-K is never used).
   */
  public GemmKernels(CudaContext context, CudaModule module, long workspaceBytes) {
    this(context, module, workspaceBytes, TensorCores.WGMMA);
  }

  GemmKernels(CudaContext context, CudaModule module, long workspaceBytes, TensorCores tensorCores) {
    if (workspaceBytes < 0) {
      throw new IllegalArgumentException("workspaceBytes " + workspaceBytes + " < 0");
    }
    this.tensorCores = tensorCores;
    tcLarge = mmaSyncKernel(module, "gemm_bf16_tc_128x256", 128, 256, 256, 3, 2.9e12);
    tcMedium = mmaSyncKernel(module, "gemm_bf16_tc_128x128", 128, 128, 256, 4, 2.75e12);
    tcSmall = mmaSyncKernel(module, "gemm_bf16_tc_64x128", 64, 128, 128, 4, 1.8e12);
    wgmma = new TcKernel[] {
        wgmmaKernel(module, "gemm_bf16_wgmma_128x256", 128, 256, 4, 5.0e12),
        wgmmaKernel(module, "gemm_bf16_wgmma_128x192", 128, 192, 5, 4.8e12),
        wgmmaKernel(module, "gemm_bf16_wgmma_128x128", 128, 128, 6, 4.4e12),
        wgmmaKernel(module, "gemm_bf16_wgmma_64x128", 64, 128, 8, 3.0e12)};
    splitReduce = module.kernel("gemm_splitk_reduce");
    for (int m = 1; m <= MATVEC_MAX_M; m++) {
      matvec[m] = module.kernel("gemm_bf16_matvec_" + m);
    }
    multiprocessors = multiprocessorCount(context);
    workspace = workspaceBytes > 0 ? context.allocate(workspaceBytes) : null;
  }

  /** An mma.sync kernel of gemm.cuh: STAGES x (BM + BN) rows of 128 bytes of shared memory. */
  private static TcKernel mmaSyncKernel(CudaModule module, String name, int tileM, int tileN, int threads,
      int stages, double flopsPerSmPerSecond) {
    return tcKernel(module, name, tileM, tileN, threads, stages * (tileM + tileN) * K_TILE * 2, flopsPerSmPerSecond);
  }

  /**
   * A wgmma kernel of gemm_wgmma.cuh (WgmmaConfig): a producer warpgroup plus one consumer warpgroup per 64 rows;
   * STAGES x (BM + BN) rows of 128 bytes plus 1 KiB to align the ring to the 1024-byte swizzle repeat.
   */
  private static TcKernel wgmmaKernel(CudaModule module, String name, int tileM, int tileN, int stages,
      double flopsPerSmPerSecond) {
    int threads = 128 * (tileM / 64 + 1);
    return tcKernel(module, name, tileM, tileN, threads, stages * (tileM + tileN) * K_TILE * 2 + 1024,
        flopsPerSmPerSecond);
  }

  private static TcKernel tcKernel(CudaModule module, String name, int tileM, int tileN, int threads,
      int sharedBytes, double flopsPerSmPerSecond) {
    CudaKernel kernel = module.kernel(name);
    kernel.setMaxDynamicSharedBytes(sharedBytes);
    return new TcKernel(kernel, tileM, tileN, threads, sharedBytes, flopsPerSmPerSecond);
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
    } else if (usesWgmma(n)) {
      runWgmma(stream, a, lda, w, out, ldc, m, n, k, mode);
    } else {
      runMmaSync(stream, a, lda, w, out, ldc, m, n, k, mode);
    }
  }

  /**
   * The K ranges {@link #run} sums separately for this shape and adds in order: the matvec's K parts up to
   * M = 8, the tensor-core plan's split-K above. The megakernel sums in the same pieces.
   */
  public int kSplits(int m, int n, int k) {
    if (m <= MATVEC_MAX_M) {
      return matvecKParts(n, k, multiprocessors);
    }
    return plan(usesWgmma(n) ? wgmma : mmaSyncCandidates(m), m, n, k).splits();
  }

  /** The kernel and K splits {@link #run} would use for this shape, e.g. "gemm_bf16_wgmma_128x192 x 1 split". */
  String describePlan(int m, int n, int k) {
    if (m <= MATVEC_MAX_M) {
      return matvec[m].name();
    }
    TcPlan plan = plan(usesWgmma(n) ? wgmma : mmaSyncCandidates(m), m, n, k);
    return plan.tc().kernel().name() + " x " + plan.splits() + (plan.splits() == 1 ? " split" : " splits");
  }

  /**
   * Persistent wgmma kernel: min(units, SMs) blocks walk the units (output tile x K split). With splits > 1 the
   * units write raw fp32 partials, split z at workspace + z * m * n, and the reduce adds them in split order.
   */
  private void runWgmma(CudaStream stream, long a, int lda, long w, long out, int ldc, int m, int n, int k,
      int mode) {
    TcPlan plan = plan(wgmma, m, n, k);
    TcKernel tc = plan.tc();
    int splits = plan.splits();
    int units = tc.tiles(m, n) * splits;
    boolean split = splits > 1;
    byte[] aMap = tensorMaps.bf16Rows(a, m, k, 2L * lda, tc.tileM());
    byte[] wMap = tensorMaps.bf16Rows(w, n, k, 2L * k, tc.tileN());
    tc.kernel().launch(new LaunchShape(Math.min(units, multiprocessors), 1, 1, tc.threads(), 1, 1,
        tc.sharedBytes()), stream, new KernelArgs().addBytes(aMap).addBytes(wMap)
            .addLong(split ? workspace.address() : out).addInt(split ? n : ldc).addInt(m).addInt(n).addInt(k / splits)
            .addInt(splits).addInt(split ? Epilogue.STORE_F32.ordinal() : mode));
    if (split) {
      reduceSplits(stream, splits, out, ldc, m, n, mode);
    }
  }

  /** One block per output tile and K split (gridDim.z); partials as for {@link #runWgmma}. */
  private void runMmaSync(CudaStream stream, long a, int lda, long w, long out, int ldc, int m, int n, int k,
      int mode) {
    TcPlan plan = plan(mmaSyncCandidates(m), m, n, k);
    TcKernel tc = plan.tc();
    int tiles = tc.tiles(m, n);
    int splits = plan.splits();
    if (splits == 1) {
      tc.kernel().launch(new LaunchShape(tiles, 1, 1, tc.threads(), 1, 1, tc.sharedBytes()), stream,
          tcArgs(a, lda, w, out, ldc, m, n, k, k, mode));
      return;
    }
    tc.kernel().launch(new LaunchShape(tiles, 1, splits, tc.threads(), 1, 1, tc.sharedBytes()), stream,
        tcArgs(a, lda, w, workspace.address(), n, m, n, k, k / splits, Epilogue.STORE_F32.ordinal()));
    reduceSplits(stream, splits, out, ldc, m, n, mode);
  }

  /** out = epilogue(sum over z = 0, 1, ... of workspace[z][m][n]): a fixed order, so results are deterministic. */
  private void reduceSplits(CudaStream stream, int splits, long out, int ldc, int m, int n, int mode) {
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
    int kparts = matvecKParts(n, k, multiprocessors);
    int blocks = ceilDiv(n / 2, MATVEC_WARPS / kparts);
    matvec[m].launch(new LaunchShape(blocks, 1, 1, MATVEC_THREADS, 1, 1, 0), stream,
        new KernelArgs().addLong(a).addInt(lda).addLong(w).addLong(out).addInt(ldc).addInt(n).addInt(k).addInt(mode)
            .addInt(kparts));
  }

  /**
   * Equal K ranges the matvec (M <= 8) sums each W row pair over before adding them in part order: more than
   * one when there are too few pairs to keep enough loads in flight, e.g. N = 2048, K = 8192. The megakernel
   * asks too, to sum in the same order (org.sparkllm.backend.megakernel.StreamBuilder).
   */
  public static int matvecKParts(int n, int k, int multiprocessors) {
    long pairs = n / 2;
    int chunks = k / 8;
    int kparts = 1;
    while (kparts < MATVEC_WARPS && pairs * kparts < (long) MATVEC_WARPS_PER_SM * multiprocessors
        && chunks / (kparts * 2) >= MATVEC_MIN_CHUNKS_PER_PART) {
      kparts *= 2;
    }
    return kparts;
  }

  private boolean usesWgmma(int n) {
    return tensorCores == TensorCores.WGMMA && n % WGMMA_N_MULTIPLE == 0;
  }

  /** mma.sync: the small tile serves M <= 128 and the 128x128 one M <= 256 (measured best there). */
  private TcKernel[] mmaSyncCandidates(int m) {
    return m <= 128 ? new TcKernel[] {tcSmall}
        : m <= 256 ? new TcKernel[] {tcMedium} : new TcKernel[] {tcLarge, tcMedium};
  }

  /**
   * Tile shape and K splits with the least estimated time: whole waves of units (tile x split) over the SMs,
   * each unit costing its tile's share of FLOPs at the kernel's per-SM rate, plus the split-K partials' round
   * trip (s * M * N fp32 written and read). Each split keeps >= 4 k-tiles and must fit the workspace. The same
   * count of waves holds for the persistent wgmma kernel, whose blocks take units round-robin.
   */
  private TcPlan plan(TcKernel[] candidates, int m, int n, int k) {
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
