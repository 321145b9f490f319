// Hopper GEMM: out = epilogue(A · Wᵀ) with wgmma, same contract and epilogues as gemm.cuh's tensor-core kernels
// (A bf16 [M, K] row stride lda, W bf16 [N, K], fp32 accumulation; host side GemmKernels.java).
//
// Structure: a persistent, warp-specialised block.
//   - Warpgroup 0 is the producer: one thread streams (A tile, W tile) pairs of 64 k-elements with TMA into a
//     STAGES-deep ring of shared-memory slots. TMA writes each tile in the 128-byte swizzle layout that the
//     wgmma descriptors name (hopper_async.cuh, sw128_kmajor_descriptor), and zero-fills rows past M (A) or
//     past N (W), so ragged edges need no special path and never read out of bounds.
//   - Warpgroups 1..CONSUMERS are consumers: each multiplies its 64 rows of the block tile by all BN columns
//     (wgmma m64nBNk16, both operands from shared memory) into registers, then applies the epilogue straight
//     from registers to global memory.
//   - Per slot two mbarriers: full (the producer's arrive.expect_tx + the TMA's complete_tx of the slot's
//     bytes) and empty (one arrival per consumer warp once its wgmmas reading the slot have completed).
//   - The block walks work units blockIdx.x, blockIdx.x + gridDim.x, ... (grid = min(units, SMs)); a unit is
//     one output tile of one K split. The ring and its phases run on across units, so the producer loads the
//     next unit's first k-tiles while the consumers store the current one.
// Split K (splits > 1): the host passes mode kStoreF32, ldc = N and out = workspace; split z writes its raw
// partial sums to out + z * M * N and gemm_splitk_reduce adds them in split order (deterministic).
#pragma once

#include "gemm.cuh"
#include "hopper_async.cuh"

namespace gemm {

// Register limits after setmaxnreg in blocks of two consumer warpgroups (384 threads): 128 x 40 + 256 x 232 =
// 64,512 of the SM's 65,536, the same total that __launch_bounds__(384, 1) gives all threads at launch (168
// each), so the consumers' increase is exactly covered by what the producer returns.
constexpr int kProducerRegisters = 40;
constexpr int kConsumerRegisters = 232;

template <int CONSUMERS, int BN, int STAGES>
struct WgmmaConfig {
  static constexpr int kBM = 64 * CONSUMERS;
  static constexpr int kThreads = 128 * (CONSUMERS + 1);
  static constexpr int kRowBytes = kBK * 2;  // one 64-element bf16 row = one 128-byte swizzle row
  static constexpr int kABytes = kBM * kRowBytes;
  static constexpr int kWBytes = BN * kRowBytes;
  static constexpr int kStageBytes = kABytes + kWBytes;
  // The ring starts at the first 1024-byte boundary of dynamic shared memory (the swizzle pattern repeats
  // every 8 rows = 1024 bytes and the descriptors assume base offset 0), hence the extra 1024 bytes.
  static constexpr int kSmemBytes = STAGES * kStageBytes + 1024;
  static constexpr int kAccumulators = BN / 2;  // 64 x BN fp32 over 128 threads
  static_assert(CONSUMERS == 1 || CONSUMERS == 2, "one or two consumer warpgroups");
  static_assert(BN % 64 == 0 && BN <= 256, "wgmma N up to 256; a TMA box has at most 256 rows");
  static_assert(kABytes % 1024 == 0 && kWBytes % 1024 == 0, "every tile must start on a 1024-byte boundary");
  static_assert(kSmemBytes <= 227 * 1024, "dynamic shared memory of one block is at most 227 KiB");
};

// Unit -> (m tile, n tile, split): splits outermost, tiles grouped as tile_of_block does for L2 reuse.
__device__ __forceinline__ void tile_of_unit(int unit, int tiles_m, int tiles_n, int& tm, int& tn, int& split) {
  const int tiles = tiles_m * tiles_n;
  split = unit / tiles;
  tile_of_block(unit - split * tiles, tiles_m, tiles_n, tm, tn);
}

// Stores a consumer thread's accumulators of one unit: rows `row` and row + 8, column pairs col + 8i (see the
// accumulator layout at sm90::wgmma_m64k16). Rows >= M and columns >= N were computed from zero-filled operands
// and are dropped here.
template <int MODE, int R>
__device__ __forceinline__ void store_accumulators(void* out, int ldc, int M, int N, int row, int col,
                                                   const float (&acc)[R]) {
#pragma unroll
  for (int i = 0; i < R / 4; ++i) {
    const int c = col + 8 * i;
    if (c < N) {  // N is even, so c + 1 < N too
      if (row < M) store_pair_as<MODE>(out, ldc, row, c, acc[4 * i], acc[4 * i + 1]);
      if (row + 8 < M) store_pair_as<MODE>(out, ldc, row + 8, c, acc[4 * i + 2], acc[4 * i + 3]);
    }
  }
}

template <int CONSUMERS, int BN, int STAGES>
__device__ __forceinline__ void wgmma_gemm(const CUtensorMap* a_map, const CUtensorMap* w_map, void* out, int ldc,
                                           int M, int N, int k_split, int splits, int mode) {
  using C = WgmmaConfig<CONSUMERS, BN, STAGES>;
  extern __shared__ uint8_t wgmma_dynamic_smem[];
  __shared__ __align__(8) uint64_t full_bars[STAGES];
  __shared__ __align__(8) uint64_t empty_bars[STAGES];
  const uint32_t ring = (smem_addr(wgmma_dynamic_smem) + 1023u) & ~1023u;
  const uint32_t full0 = smem_addr(full_bars);    // full barrier of slot s at full0 + 8 s
  const uint32_t empty0 = smem_addr(empty_bars);  // empty barrier of slot s at empty0 + 8 s

  const int tiles_m = (M + C::kBM - 1) / C::kBM;
  const int tiles_n = (N + BN - 1) / BN;
  const int units = tiles_m * tiles_n * splits;
  const int ktiles = k_split / kBK;

  if (threadIdx.x == 0) {
#pragma unroll
    for (int s = 0; s < STAGES; ++s) {
      // full: completed by the producer's single arrive.expect_tx plus the TMA bytes of the slot.
      sm90::mbarrier_init(full0 + 8 * s, 1);
      // empty: one arrival from lane 0 of each consumer warp, after that warp's wgmma_wait.
      sm90::mbarrier_init(empty0 + 8 * s, 4 * CONSUMERS);
    }
    sm90::fence_barrier_init();
  }
  __syncthreads();  // no thread touches a barrier before it is initialised

  // Slot `stage` is used for the (stage + STAGES * round)-th k-tile of this block's sequence; its barriers
  // complete once per round, so a side that has passed `round` rounds waits on parity round & 1. Producer and
  // consumers walk the same sequence (every unit, every k-tile), so their (stage, phase) pairs stay in step.
  const int warpgroup = threadIdx.x / 128;
  if (warpgroup == 0) {
    if constexpr (CONSUMERS > 1) sm90::release_registers<kProducerRegisters>();
    if (threadIdx.x != 0) return;  // one thread issues every copy; the rest of the warpgroup has no work
    sm90::prefetch_tensor_map(a_map);
    sm90::prefetch_tensor_map(w_map);
    int stage = 0;
    uint32_t phase = 0;
    for (int unit = blockIdx.x; unit < units; unit += gridDim.x) {
      int tm, tn, split;
      tile_of_unit(unit, tiles_m, tiles_n, tm, tn, split);
      const int k0 = split * k_split;
      for (int kt = 0; kt < ktiles; ++kt) {
        // Wait until every consumer warp released the slot's previous contents (parity phase ^ 1: on the
        // first round, the phase before phase 0, which counts as complete, so the empty ring needs no arrivals).
        sm90::mbarrier_wait(empty0 + 8 * stage, phase ^ 1);
        const uint32_t full = full0 + 8 * stage;
        const uint32_t a_dst = ring + stage * C::kStageBytes;
        // Announce the bytes before issuing the copies, so the phase cannot complete on the arrival alone.
        // Zero-filled rows (past M or N) are delivered and counted like the others: always kStageBytes.
        sm90::mbarrier_arrive_expect_tx(full, C::kStageBytes);
        sm90::tma_load_2d(a_dst, a_map, k0 + kt * kBK, tm * C::kBM, full);
        sm90::tma_load_2d(a_dst + C::kABytes, w_map, k0 + kt * kBK, tn * BN, full);
        if (++stage == STAGES) {
          stage = 0;
          phase ^= 1;
        }
      }
    }
    return;
  }

  if constexpr (CONSUMERS > 1) sm90::claim_registers<kConsumerRegisters>();
  const int consumer = warpgroup - 1;
  const int warp = (threadIdx.x / 32) % 4;
  const int lane = threadIdx.x % 32;
  // Each unit's first wgmma ignores the old values (scale-d false); zeroing once only keeps the compiler from
  // passing undefined values into the asm operands.
  float acc[C::kAccumulators];
#pragma unroll
  for (int i = 0; i < C::kAccumulators; ++i) acc[i] = 0.0f;
  int stage = 0;
  uint32_t phase = 0;
  for (int unit = blockIdx.x; unit < units; unit += gridDim.x) {
    int tm, tn, split;
    tile_of_unit(unit, tiles_m, tiles_n, tm, tn, split);
    int previous = 0;
    for (int kt = 0; kt < ktiles; ++kt) {
      // The TMA's complete_tx and this acquire make the slot's bytes visible to the async proxy reads of wgmma;
      // both sides are the async proxy, so no proxy fence is needed here.
      sm90::mbarrier_wait(full0 + 8 * stage, phase);
      const uint32_t a_tile = ring + stage * C::kStageBytes;
      const uint64_t a_desc = sm90::sw128_kmajor_descriptor(a_tile + consumer * 64 * C::kRowBytes);
      const uint64_t w_desc = sm90::sw128_kmajor_descriptor(a_tile + C::kABytes);
      // Required before a unit's first wgmma (the previous epilogue read the accumulators with ordinary
      // instructions, and the zeroing above wrote them); between k-tiles the wgmmas on the same accumulators are
      // ordered by the hardware, and the fence there costs next to nothing.
      sm90::pin_accumulators(acc);
      sm90::wgmma_fence();
#pragma unroll
      for (int k = 0; k < kBK / 16; ++k) {
        // k-th 16-element slice: +32 bytes on the start address = +2 in the descriptor's address field.
        sm90::wgmma_m64k16<BN>(acc, a_desc + 2 * k, w_desc + 2 * k, (kt | k) != 0);
      }
      sm90::wgmma_commit();
      if (kt > 0) {
        // One group (this k-tile's) may still run; the previous k-tile's group has finished reading its slot.
        sm90::wgmma_wait<1>();
        if (lane == 0) sm90::mbarrier_arrive(empty0 + 8 * previous);
      }
      previous = stage;
      if (++stage == STAGES) {
        stage = 0;
        phase ^= 1;
      }
    }
    sm90::wgmma_wait<0>();
    sm90::pin_accumulators(acc);  // the epilogue's reads of acc stay below the wait
    if (lane == 0) sm90::mbarrier_arrive(empty0 + 8 * previous);

    void* dst = splits > 1 ? static_cast<void*>(static_cast<float*>(out) + static_cast<size_t>(split) * M * N) : out;
    const int row = tm * C::kBM + consumer * 64 + warp * 16 + lane / 4;
    const int col = tn * BN + 2 * (lane % 4);
    if (mode == kStoreF32) {
      store_accumulators<kStoreF32>(dst, ldc, M, N, row, col, acc);
    } else if (mode == kAddF32) {
      store_accumulators<kAddF32>(dst, ldc, M, N, row, col, acc);
    } else if (mode == kStoreBf16) {
      store_accumulators<kStoreBf16>(dst, ldc, M, N, row, col, acc);
    } else {
      store_accumulators<kSwigluBf16>(dst, ldc, M, N, row, col, acc);
    }
  }
}

}  // namespace gemm

// One kernel per configuration; the host reads the tile shape from the name (GemmKernels.java). Both tensor
// maps are passed by value as __grid_constant__ parameters: TMA reads them from parameter space, and a CUDA
// graph keeps its own copy of the parameters, so the host's copy need not outlive the launch.
#define GEMM_WGMMA_KERNEL(NAME, CONSUMERS, BN, STAGES)                                                          \
  extern "C" __global__ void __launch_bounds__(128 * ((CONSUMERS) + 1), 1)                                      \
      NAME(const __grid_constant__ CUtensorMap a_map, const __grid_constant__ CUtensorMap w_map, void* out,     \
           int ldc, int M, int N, int k_split, int splits, int mode) {                                          \
    gemm::wgmma_gemm<CONSUMERS, BN, STAGES>(&a_map, &w_map, out, ldc, M, N, k_split, splits, mode);             \
  }

// 128x256: two consumers of 64x256 (M >= 2048 with wide N). 4 stages x 48 KiB.
GEMM_WGMMA_KERNEL(gemm_bf16_wgmma_128x256, 2, 256, 4)
// 128x192: N = 3072 at M = 2048 makes 256 tiles (1.94 waves on 132 SMs) instead of 192 (1.45). 5 x 40 KiB.
GEMM_WGMMA_KERNEL(gemm_bf16_wgmma_128x192, 2, 192, 5)
// 128x128: more tiles for M <= 256 and narrow N. 6 x 32 KiB.
GEMM_WGMMA_KERNEL(gemm_bf16_wgmma_128x128, 2, 128, 6)
// 64x128: one consumer, for M <= 64 or ragged M where a 128-row tile would be half empty. 8 x 24 KiB.
GEMM_WGMMA_KERNEL(gemm_bf16_wgmma_64x128, 1, 128, 8)

#undef GEMM_WGMMA_KERNEL
