// GEMM kernels: out = epilogue(A · Wᵀ), A bf16 [M, K] row-major (row stride lda), W bf16 [N, K] row-major
// (a Hugging Face Linear weight, K contiguous), fp32 accumulation. Host side: GemmKernels.java.
//
// Four families, chosen by the host:
//   gemm_bf16_wgmma_*   Hopper tensor cores (wgmma + TMA, warp-specialised, persistent) for M > 8 and N a
//                       multiple of 64: gemm_wgmma.cuh.
//   gemm_bf16_tc_*      tensor cores (mma.sync m16n8k16) for M > 8 and other N; gridDim.z > 1 means split-K, each
//                       split writing raw fp32 partials to its own slice of a workspace.
//   gemm_splitk_reduce  sums the split-K slices in a fixed order (deterministic) and applies the epilogue.
//   gemm_bf16_matvec_*  M <= 8 (decode): streams W once, bandwidth bound.
//
// Epilogue modes (GemmKernels.Epilogue ordinals): every path produces an accumulator for two adjacent output
// columns (2j, 2j+1) in the same thread, so all four are applied where the pair is stored.
#pragma once

#include <cuda_bf16.h>
#include <stdint.h>

namespace gemm {

constexpr int kStoreF32 = 0;    // out fp32 [M, ldc] = acc
constexpr int kAddF32 = 1;      // out fp32 [M, ldc] += acc (residual add)
constexpr int kStoreBf16 = 2;   // out bf16 [M, ldc] = acc
constexpr int kSwigluBf16 = 3;  // W rows interleaved gate/up; out bf16 [M, ldc], ldc >= N/2:
                                //   out[m][j] = silu(acc[m][2j]) * acc[m][2j+1]

// k-tile of the tensor-core kernels: one tile row is 64 bf16 = 128 bytes = 8 chunks of 16 bytes.
constexpr int kBK = 64;

__device__ __forceinline__ float silu(float x) { return x / (1.0f + expf(-x)); }

// Applies epilogue MODE to the accumulators of columns col (even) and col + 1 of row `row`.
template <int MODE>
__device__ __forceinline__ void store_pair_as(void* out, int ldc, int row, int col, float v0, float v1) {
  const size_t at = static_cast<size_t>(row) * ldc;
  if constexpr (MODE == kStoreF32) {
    *reinterpret_cast<float2*>(static_cast<float*>(out) + at + col) = make_float2(v0, v1);
  } else if constexpr (MODE == kAddF32) {
    float2* p = reinterpret_cast<float2*>(static_cast<float*>(out) + at + col);
    float2 old = *p;
    *p = make_float2(old.x + v0, old.y + v1);
  } else if constexpr (MODE == kStoreBf16) {
    *reinterpret_cast<__nv_bfloat162*>(static_cast<__nv_bfloat16*>(out) + at + col) = __floats2bfloat162_rn(v0, v1);
  } else {
    static_cast<__nv_bfloat16*>(out)[at + (col >> 1)] = __float2bfloat16_rn(silu(v0) * v1);
  }
}

// The same with the mode chosen at run time.
__device__ __forceinline__ void store_pair(void* out, int ldc, int mode, int row, int col, float v0, float v1) {
  if (mode == kStoreF32) {
    store_pair_as<kStoreF32>(out, ldc, row, col, v0, v1);
  } else if (mode == kAddF32) {
    store_pair_as<kAddF32>(out, ldc, row, col, v0, v1);
  } else if (mode == kStoreBf16) {
    store_pair_as<kStoreBf16>(out, ldc, row, col, v0, v1);
  } else {
    store_pair_as<kSwigluBf16>(out, ldc, row, col, v0, v1);
  }
}

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte global->shared async copy; src_bytes == 0 writes zeros (rows past M or N) without reading src.
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// ldmatrix .x4: lanes 8i..8i+7 give the row addresses (16 bytes each) of 8x8 b16 matrix i; afterwards
// register i of lane l holds row l/4, columns 2(l%4) and 2(l%4)+1 of matrix i.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// ldmatrix .x2: lanes 0..15 give the row addresses of matrices 0 and 1 (as ldmatrix_x4's 0 and 1).
__device__ __forceinline__ void ldmatrix_x2(uint32_t (&r)[2], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(addr));
}

// D = A·B + D for a 16x8x16 tile. Fragments (g = lane/4, t = lane%4), PTX ISA "mma.m16n8k16" for .bf16:
//   A 16x16 row-major: a0 = (row g, k 2t..2t+1), a1 = (g+8, 2t..), a2 = (g, 2t+8..), a3 = (g+8, 2t+8..)
//   B 16x8 "col" (k x n, stored n-major = W's layout): b0 = (k 2t..2t+1, col g), b1 = (k 2t+8.., col g)
//   C 16x8 fp32: c0,c1 = (row g, cols 2t, 2t+1), c2,c3 = (row g+8, cols 2t, 2t+1)
__device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Byte offset of 16-byte chunk `chunk` (0..7) of row `row` in a [rows][64] bf16 tile. The chunk index is
// XORed with row % 8: the 8 rows one ldmatrix phase reads (same logical chunk, 8 consecutive rows) then fall
// into 8 distinct 16-byte bank groups, so ldmatrix and the cp.async stores are free of bank conflicts.
__device__ __forceinline__ uint32_t swizzle(int row, int chunk) {
  return static_cast<uint32_t>(row * 128 + ((chunk ^ (row & 7)) << 4));
}

// Block tile BM x BN x 64, WM x WN warps each owning a (BM/WM) x (BN/WN) warp tile, STAGES-deep cp.async
// pipeline. Shared memory per stage: A tile then W tile, both swizzled [rows][64] bf16.
template <int BM, int BN, int WM, int WN, int STAGES>
struct TcConfig {
  static constexpr int kThreads = WM * WN * 32;
  static constexpr int kWarpM = BM / WM;
  static constexpr int kWarpN = BN / WN;
  static constexpr int kMF = kWarpM / 16;  // m16 fragments per warp
  static constexpr int kNF = kWarpN / 8;   // n8 fragments per warp
  static constexpr int kABytes = BM * kBK * 2;
  static constexpr int kStageBytes = (BM + BN) * kBK * 2;
  static constexpr int kSmemBytes = kStageBytes * STAGES;
  // Each thread copies a fixed chunk (tid % 8) of rows tid/8, tid/8 + kRowStep, ...
  static constexpr int kRowStep = kThreads / 8;
  static constexpr int kARows = BM / kRowStep;
  static constexpr int kBRows = BN / kRowStep;
  static_assert(kWarpM % 16 == 0 && kWarpN % 16 == 0, "warp tile must be whole 16x16 ldmatrix blocks");
  static_assert(BM % kRowStep == 0 && BN % kRowStep == 0, "tile rows must split evenly over threads");
};

// Maps a linear block index to (m tile, n tile) in groups of 8 m-tiles, so that the blocks running at one
// time share a few A row panels and a few W panels in L2 instead of sweeping all of W for every A panel.
__device__ __forceinline__ void tile_of_block(int block, int tiles_m, int tiles_n, int& tm, int& tn) {
  constexpr int kGroup = 8;
  const int per_group = kGroup * tiles_n;
  const int first_m = (block / per_group) * kGroup;
  const int group_m = min(tiles_m - first_m, kGroup);
  const int in_group = block % per_group;
  tm = first_m + in_group % group_m;
  tn = in_group / group_m;
}

// One block computes one BM x BN tile over the K range of split blockIdx.z (k_split elements). With
// gridDim.z == 1 it applies `mode` to `out`; with gridDim.z > 1 the host passes mode kStoreF32, ldc = N and
// out = workspace, and split z writes its raw partial sums to out + z * M * N.
template <int BM, int BN, int WM, int WN, int STAGES>
__device__ __forceinline__ void tc_gemm(const __nv_bfloat16* __restrict__ A, int lda,
                                        const __nv_bfloat16* __restrict__ W, void* out, int ldc, int M, int N,
                                        int K, int k_split, int mode) {
  using C = TcConfig<BM, BN, WM, WN, STAGES>;
  extern __shared__ __align__(128) uint8_t smem[];
  const uint32_t smem_base = smem_addr(smem);

  const int tid = threadIdx.x;
  const int lane = tid & 31;
  const int warp = tid >> 5;
  const int warp_m = warp / WN;
  const int warp_n = warp % WN;

  int tile_m, tile_n;
  tile_of_block(blockIdx.x, (M + BM - 1) / BM, (N + BN - 1) / BN, tile_m, tile_n);
  const int m0 = tile_m * BM;
  const int n0 = tile_n * BN;
  const int k0 = blockIdx.z * k_split;
  const int ktiles = k_split / kBK;

  // Copy assignment: chunk tid % 8 of tile rows tid / 8 + i * kRowStep.
  const int copy_chunk = tid & 7;
  const int copy_row = tid >> 3;
  const __nv_bfloat16* a_src = A + static_cast<size_t>(m0 + copy_row) * lda + k0 + copy_chunk * 8;
  const __nv_bfloat16* w_src = W + static_cast<size_t>(n0 + copy_row) * K + k0 + copy_chunk * 8;
  const size_t a_step = static_cast<size_t>(C::kRowStep) * lda;
  const size_t w_step = static_cast<size_t>(C::kRowStep) * K;

  auto load_tile = [&](int stage, int kt) {
    const uint32_t a_dst = smem_base + stage * C::kStageBytes;
    const uint32_t w_dst = a_dst + C::kABytes;
    const int k_off = kt * kBK;
#pragma unroll
    for (int i = 0; i < C::kARows; ++i) {
      const int row = copy_row + i * C::kRowStep;
      const bool ok = m0 + row < M;
      cp_async16(a_dst + swizzle(row, copy_chunk), ok ? a_src + i * a_step + k_off : A, ok ? 16 : 0);
    }
#pragma unroll
    for (int i = 0; i < C::kBRows; ++i) {
      const int row = copy_row + i * C::kRowStep;
      const bool ok = n0 + row < N;
      cp_async16(w_dst + swizzle(row, copy_chunk), ok ? w_src + i * w_step + k_off : W, ok ? 16 : 0);
    }
  };

  float acc[C::kMF][C::kNF][4];
#pragma unroll
  for (int i = 0; i < C::kMF; ++i)
#pragma unroll
    for (int j = 0; j < C::kNF; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;

  // ldmatrix addressing. A (per m16 fragment): lanes 0-15 point at rows 0-15 of k-chunk 2s, lanes 16-31 at
  // rows 0-15 of chunk 2s+1, so matrices 0..3 = (rows 0-7, k 0-7), (8-15, k 0-7), (0-7, k 8-15), (8-15, k 8-15)
  // = a0..a3. W (per pair of n8 fragments): lanes 0-7 rows n 0-7 chunk 2s, lanes 8-15 rows n 0-7 chunk 2s+1,
  // lanes 16-23 rows n 8-15 chunk 2s, lanes 24-31 rows n 8-15 chunk 2s+1, so registers 0..3 = b0, b1 of the
  // first n8 fragment and b0, b1 of the second.
  const int a_row = warp_m * C::kWarpM + (lane & 15);
  const int a_hi = lane >> 4;
  const int b_row = warp_n * C::kWarpN + (lane & 7) + ((lane >> 4) << 3);
  const int b_hi = (lane >> 3) & 1;

  // Fragments of one k16 step: A (one x4 per m16 fragment), W (one x4 per pair of n8 fragments).
  uint32_t a_frag[2][C::kMF][4];
  uint32_t b_frag[2][C::kNF / 2][4];
  auto load_frags = [&](int buf, uint32_t a_tile, int s) {
    const uint32_t w_tile = a_tile + C::kABytes;
#pragma unroll
    for (int i = 0; i < C::kMF; ++i) ldmatrix_x4(a_frag[buf][i], a_tile + swizzle(a_row + i * 16, 2 * s + a_hi));
#pragma unroll
    for (int j = 0; j < C::kNF / 2; ++j)
      ldmatrix_x4(b_frag[buf][j], w_tile + swizzle(b_row + j * 16, 2 * s + b_hi));
  };

  // Pipeline: STAGES - 1 tiles in flight ahead of the one being multiplied, one commit group per tile (empty
  // groups past the end keep the wait count uniform). Fragments are double-buffered in registers: step s + 1
  // (or step 0 of the next tile) is read from shared memory while step s's mma run.
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < ktiles) load_tile(s, s);
    cp_async_commit();
  }
  cp_async_wait<STAGES - 2>();
  __syncthreads();
  load_frags(0, smem_base, 0);

  for (int kt = 0; kt < ktiles; ++kt) {
    // The stage of tile kt - 1 was released by the barrier of the previous iteration: refill it.
    const int next = kt + STAGES - 1;
    if (next < ktiles) load_tile(next % STAGES, next);
    cp_async_commit();

    const uint32_t a_tile = smem_base + (kt % STAGES) * C::kStageBytes;
#pragma unroll
    for (int s = 0; s < kBK / 16; ++s) {
      const int cur = s & 1;
      if (s == kBK / 16 - 1) {
        // Groups committed: STAGES + kt; at most STAGES - 2 pending means tile kt + 1 has landed for this
        // thread, and the barrier makes all threads' copies visible. Every ldmatrix of tile kt has been issued
        // (step 3's fragments were read during step 2), so after it tile kt's stage may be overwritten.
        cp_async_wait<STAGES - 2>();
        __syncthreads();
        if (kt + 1 < ktiles) load_frags(cur ^ 1, smem_base + ((kt + 1) % STAGES) * C::kStageBytes, 0);
      } else {
        load_frags(cur ^ 1, a_tile, s + 1);
      }
#pragma unroll
      for (int i = 0; i < C::kMF; ++i)
#pragma unroll
        for (int j = 0; j < C::kNF; ++j)
          mma_bf16(acc[i][j], a_frag[cur][i], b_frag[cur][j / 2][(j & 1) * 2], b_frag[cur][j / 2][(j & 1) * 2 + 1]);
    }
  }
  cp_async_wait<0>();

  if (gridDim.z > 1) {
    out = static_cast<float*>(out) + static_cast<size_t>(blockIdx.z) * M * N;
  }
  const int g = lane >> 2;
  const int t = lane & 3;
#pragma unroll
  for (int i = 0; i < C::kMF; ++i) {
    const int row = m0 + warp_m * C::kWarpM + i * 16 + g;
#pragma unroll
    for (int j = 0; j < C::kNF; ++j) {
      const int col = n0 + warp_n * C::kWarpN + j * 8 + 2 * t;
      if (col < N) {  // N and col are even, so col + 1 < N as well
        if (row < M) store_pair(out, ldc, mode, row, col, acc[i][j][0], acc[i][j][1]);
        if (row + 8 < M) store_pair(out, ldc, mode, row + 8, col, acc[i][j][2], acc[i][j][3]);
      }
    }
  }
}

// W is streamed once: read-only and not kept in L1, which is left to the rows of A that every warp re-reads.
__device__ __forceinline__ uint4 load_stream(const uint4* p) {
  uint4 v;
  asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];\n"
      : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
      : "l"(p));
  return v;
}

// A is tiny (M * K * 2 bytes, L2-resident) and read by every warp of the SM: cached in L1.
__device__ __forceinline__ uint4 load_cached(const uint4* p) { return __ldg(p); }

// bf16 pair in one 32-bit word -> two floats (bf16 is the top half of an fp32).
__device__ __forceinline__ float bf16_lo(uint32_t x) { return __uint_as_float(x << 16); }
__device__ __forceinline__ float bf16_hi(uint32_t x) { return __uint_as_float(x & 0xffff0000u); }

// acc0 += w0 · a and acc1 += w1 · a over 8 elements.
__device__ __forceinline__ void dot8x2(float& acc0, float& acc1, const uint4& w0, const uint4& w1, const uint4& a) {
  const uint32_t aw[4] = {a.x, a.y, a.z, a.w};
  const uint32_t w0w[4] = {w0.x, w0.y, w0.z, w0.w};
  const uint32_t w1w[4] = {w1.x, w1.y, w1.z, w1.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float lo = bf16_lo(aw[i]);
    const float hi = bf16_hi(aw[i]);
    acc0 = fmaf(bf16_lo(w0w[i]), lo, acc0);
    acc0 = fmaf(bf16_hi(w0w[i]), hi, acc0);
    acc1 = fmaf(bf16_lo(w1w[i]), lo, acc1);
    acc1 = fmaf(bf16_hi(w1w[i]), hi, acc1);
  }
}

constexpr int kMatvecWarps = 8;   // block = 256 threads
constexpr int kMatvecUnroll = 4;  // 16-byte chunks of each of the two W rows a lane has in flight

// Each warp owns output columns n, n + 1 (W rows n, n + 1, so SWIGLU's gate/up pair stays in one warp) over
// part `part` of `kparts` equal K ranges; the kparts warps of one pair sit in the same block (warp = pair
// slot * kparts + part) and their partial sums are added in part order through shared memory. Lane l reads
// the 16-byte chunks l, l + 32, ... of its range; a butterfly shuffle sums the lanes. Fixed orders throughout:
// deterministic.
template <int MR>
__device__ __forceinline__ void matvec(const __nv_bfloat16* __restrict__ A, int lda,
                                       const __nv_bfloat16* __restrict__ W, void* out, int ldc, int N, int K,
                                       int mode, int kparts) {
  __shared__ float partial[kMatvecWarps][MR][2];
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int part = warp % kparts;
  const int n = (blockIdx.x * (kMatvecWarps / kparts) + warp / kparts) * 2;
  const bool active = n < N;

  const int kc = K / 8;
  const int per_part = kc / kparts;
  const int c_end = (part + 1) * per_part;
  const uint4* w0 = reinterpret_cast<const uint4*>(W + static_cast<size_t>(active ? n : 0) * K);
  const uint4* w1 = w0 + kc;
  const uint4* a_rows = reinterpret_cast<const uint4*>(A);
  const int a_stride = lda / 8;

  float acc[MR][2];
#pragma unroll
  for (int m = 0; m < MR; ++m) acc[m][0] = acc[m][1] = 0.0f;

  if (active) {
    for (int c = part * per_part + lane; c < c_end; c += 32 * kMatvecUnroll) {
      uint4 x0[kMatvecUnroll], x1[kMatvecUnroll];
#pragma unroll
      for (int u = 0; u < kMatvecUnroll; ++u) {
        if (c + 32 * u < c_end) {
          x0[u] = load_stream(w0 + c + 32 * u);
          x1[u] = load_stream(w1 + c + 32 * u);
        }
      }
#pragma unroll
      for (int u = 0; u < kMatvecUnroll; ++u) {
        if (c + 32 * u < c_end) {
#pragma unroll
          for (int m = 0; m < MR; ++m)
            dot8x2(acc[m][0], acc[m][1], x0[u], x1[u], load_cached(a_rows + m * a_stride + c + 32 * u));
        }
      }
    }
  }

#pragma unroll
  for (int m = 0; m < MR; ++m)
#pragma unroll
    for (int r = 0; r < 2; ++r)
#pragma unroll
      for (int off = 16; off > 0; off >>= 1) acc[m][r] += __shfl_xor_sync(0xffffffffu, acc[m][r], off);

  // All lanes hold the warp's sums after the butterfly; lane m handles row m.
  if (kparts == 1) {
#pragma unroll
    for (int m = 0; m < MR; ++m)
      if (active && lane == m) store_pair(out, ldc, mode, m, n, acc[m][0], acc[m][1]);
    return;
  }
#pragma unroll
  for (int m = 0; m < MR; ++m)
    if (lane == m) {
      partial[warp][m][0] = acc[m][0];
      partial[warp][m][1] = acc[m][1];
    }
  __syncthreads();
  if (active && part == 0 && lane < MR) {
    float s0 = partial[warp][lane][0];
    float s1 = partial[warp][lane][1];
    for (int p = 1; p < kparts; ++p) {
      s0 += partial[warp + p][lane][0];
      s1 += partial[warp + p][lane][1];
    }
    store_pair(out, ldc, mode, lane, n, s0, s1);
  }
}

}  // namespace gemm

// Tensor-core kernels: one configuration each; the host reads the name's tile shape (GemmKernels.java).
#define GEMM_TC_KERNEL(NAME, BM, BN, WM, WN, STAGES)                                                            \
  extern "C" __global__ void __launch_bounds__(WM * WN * 32, 1)                                                 \
      NAME(const __nv_bfloat16* __restrict__ A, int lda, const __nv_bfloat16* __restrict__ W, void* out, int ldc, \
           int M, int N, int K, int k_split, int mode) {                                                        \
    gemm::tc_gemm<BM, BN, WM, WN, STAGES>(A, lda, W, out, ldc, M, N, K, k_split, mode);                         \
  }

// 128x256: 8 warps of 64x64 (large M, wide N). 3 stages x 48 KiB = 144 KiB.
GEMM_TC_KERNEL(gemm_bf16_tc_128x256, 128, 256, 2, 4, 3)
// 128x128: 8 warps of 64x32. 4 stages x 32 KiB = 128 KiB.
GEMM_TC_KERNEL(gemm_bf16_tc_128x128, 128, 128, 2, 4, 4)
// 64x128: 4 warps of 32x64 (M <= 64, usually with split-K). 4 stages x 24 KiB = 96 KiB.
GEMM_TC_KERNEL(gemm_bf16_tc_64x128, 64, 128, 2, 2, 4)

#undef GEMM_TC_KERNEL

// Sums split-K partials ws[z][M][N], z = 0, 1, ... in that order, and applies `mode`; one thread per column
// pair so that SWIGLU sees gate and up together.
extern "C" __global__ void gemm_splitk_reduce(const float* __restrict__ ws, int splits, void* out, int ldc, int M,
                                              int N, int mode) {
  const size_t pairs = static_cast<size_t>(M) * (N / 2);
  const size_t slice = static_cast<size_t>(M) * N;
  for (size_t p = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; p < pairs;
       p += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int row = static_cast<int>(p / (N / 2));
    const int col = static_cast<int>(p - static_cast<size_t>(row) * (N / 2)) * 2;
    const float* src = ws + static_cast<size_t>(row) * N + col;
    float2 sum = *reinterpret_cast<const float2*>(src);
    for (int z = 1; z < splits; ++z) {
      const float2 v = *reinterpret_cast<const float2*>(src + z * slice);
      sum.x += v.x;
      sum.y += v.y;
    }
    gemm::store_pair(out, ldc, mode, row, col, sum.x, sum.y);
  }
}

// Matvec kernels for M = 1..8: blocks of 256 threads (8 warps), each block covering 8 / kparts column pairs;
// kparts in {1, 2, 4, 8} divides K / 8.
#define GEMM_MATVEC_KERNEL(MR)                                                                                  \
  extern "C" __global__ void __launch_bounds__(256) gemm_bf16_matvec_##MR(                                      \
      const __nv_bfloat16* __restrict__ A, int lda, const __nv_bfloat16* __restrict__ W, void* out, int ldc,     \
      int N, int K, int mode, int kparts) {                                                                     \
    gemm::matvec<MR>(A, lda, W, out, ldc, N, K, mode, kparts);                                                  \
  }

GEMM_MATVEC_KERNEL(1)
GEMM_MATVEC_KERNEL(2)
GEMM_MATVEC_KERNEL(3)
GEMM_MATVEC_KERNEL(4)
GEMM_MATVEC_KERNEL(5)
GEMM_MATVEC_KERNEL(6)
GEMM_MATVEC_KERNEL(7)
GEMM_MATVEC_KERNEL(8)

#undef GEMM_MATVEC_KERNEL
