// The matvec instructions (QKV, O_PROJ, GATE_UP, DOWN, LM_HEAD) for buckets of 16..256 rows on tensor
// cores: mma.sync m16n8k16 at 16 and 32 rows, wgmma from 64 (compute_wgmma at 64 rows, compute_wide at 128 and
// 256: the roles below change there), bf16 in, fp32 accumulators.
//
// Roles: A (16 x 16, row-major) is one weight tile's 16 rows, read from its ring page with ldmatrix; B
// (16 x 8, "col": k contiguous per n) is 8 batch rows of activations; C is weight rows x batch rows. The A
// rows are permuted at ldmatrix time (a_page_row) so that a thread's c0 and c2 are page rows 2j and
// 2j + 1: exactly a RoPE pair or a gate/up pair (TileLayout), and every epilogue works on a pair in one
// thread, without shuffles. The permutation keeps each ldmatrix phase on 8 distinct bank groups.
//
// Order: an instruction's tiles go in groups of kTiles (tile_group); for each group its K chunks (512
// columns, one page per tile) go in column order, and for each chunk the group's pages are all held
// while the chunk's activations pass through shared memory in slices [rows][kSliceColumns] (the input's
// own slice layout, ActivationLayout). One staged slice serves kTiles tiles. The loader streams pages in
// the same order (PageCursor, groups of kTiles).
//
// Every SM stages the whole input again for each of its tile groups, so a matrix with few output tiles
// per SM (O_PROJ and DOWN: hidden rows) would stage several times its own weight bytes. Their
// instructions take a K piece instead (StreamBuilder: some of the chunks, for about kTiles tiles) and
// store fp32 sums, which the next NORM adds to the residual in piece order.
//
// Warps: kBatchWarps "row groups" split the batch (kNTiles blocks of 8 rows each); the kTileWarps warps
// of a row group split the group's tiles. Each output is summed over K in ascending order, as the graph
// path's GEMMs sum their k16 steps, in the graph path's split-K pieces up to 64 rows (MmaShape::kSplitSums)
// and in one piece above. A row group stages only its own rows of each slice, one bulk copy (contiguous in
// the slice layout) completing on the row group's mbarrier, kActivationStages slices deep, and
// synchronises only its own warps (a named barrier, or __syncwarp for a row group of one warp): no block
// barrier inside an instruction, so the warps drift apart by up to the ring's depth.
#pragma once
#include "../gemm.cuh"  // gemm::ldmatrix_x2/_x4, gemm::mma_bf16 (fragment layouts documented there)
#include "../hopper_async.cuh"  // sm90::wgmma_m64n16k16_rs, _m64n128k16_rs and their fences (64 rows and up)
#include "mk_norm.cuh"

namespace mk {

template <int R>
struct MmaShape {
  static_assert(R > kMaxCoreRows && R <= kMaxStepRows && (R & (R - 1)) == 0, "a tensor-core bucket");
  static constexpr int kTiles = tile_group(R);
  // From 128 rows a warpgroup multiplies its group's 4 tiles (one per warp, A in registers) by its R / 2 batch rows
  // (B, the staged slice through a descriptor) with one wgmma m64n64k16 or m64n128k16 per k16 step (compute_wide):
  // a row group is a warpgroup, and each of its warps one tile warp.
  static constexpr bool kWide = R >= 128;
  // Row groups of 8, 16 or 32 rows; below 128 rows some warps share a row group and split its tiles.
  static constexpr int kBatchWarps =
      kWide ? 2 : R / 16 < 2 ? 2 : (R / 16 > kConsumerWarps ? kConsumerWarps : R / 16);
  static constexpr int kTileWarps = kConsumerWarps / kBatchWarps;
  static constexpr int kGroupRows = R / kBatchWarps;
  static constexpr int kNTiles = kGroupRows / 8;
  static_assert(kGroupRows % 8 == 0, "a row group starts on an unswizzled row (ActivationLayout)");
  static constexpr int kWarpTiles = kTiles / kTileWarps;
  static_assert(kWarpTiles >= 1 && kWarpTiles * kTileWarps == kTiles, "tiles split evenly over a row group");
  static_assert(kNTiles == 1 || kNTiles % 2 == 0, "B fragments by ldmatrix x2, or x4 for pairs of n-tiles");
  static constexpr int kSliceColumns = slice_columns(R);
  static constexpr int kSteps = kSliceColumns / 16;  // k16 steps of a whole slice
  static constexpr int kBufferBytes = R * kSliceColumns * 2;
  // Slices in the activation area: 4 at 128 rows, whose 16 KiB slices leave room for two more in flight (H100: the
  // 128-row step 1.3% faster than on the wgmma path, and 3.5% faster than with 2; megakernel-trials.json).
  static constexpr int kStages = slice_stages(R);
  static_assert(kStages >= 2 && kStages <= kMaxSliceStages, "a slice landing while one is computed");
  static_assert(kSliceColumns % kBlockColumns == 0 && kPageColumns % kSliceColumns == 0,
                "slices tile a page's chunk in whole 64-column blocks, each row at least 8 swizzled 16-byte chunks");
  static constexpr int kGroupThreads = kTileWarps * 32;
  // Up to 64 rows each output also keeps the sum of its finished K splits (in.splits: the graph path's
  // split-K for the same GEMM), so the two add the same partial sums in the same order. Above, that second
  // set of accumulators does not fit the registers, and K is summed in one piece.
  static constexpr bool kSplitSums = R <= 64;
  // At 64 rows the warpgroups run wgmma (compute_wgmma): A = 64 batch rows in registers (each warp its 16-row
  // slabs), B = a tile's page through a descriptor, so a warpgroup reads each weight page once instead of each row
  // group once. A warpgroup is 4 row groups of the same tile warp: one M block per slab. At 256 rows (kWide
  // instead) a slice is 64 columns, and waiting for these small wgmmas at the end of each (4 k16 steps) made the
  // step slower than mma.sync's (H100: 7,131-7,138 us against 6,965-6,967; megakernel-trials.json).
  static constexpr bool kWgmma = R == 64;
  static constexpr int kSlabs = kGroupRows / 16;
  static_assert(!kWgmma || (kBatchWarps % 4 == 0 && kGroupRows % 16 == 0), "warpgroups of whole 16-row slabs");
};

// The activations a matvec instruction reads: bf16 [rows][columns], written earlier in this launch.
__device__ __forceinline__ const __nv_bfloat16* mma_input(const Instruction& in, const Model& m) {
  switch (in.op) {
    case kOProj: return m.attention;
    case kDown: return m.mlp;
    default: return m.normed;  // QKV, GATE_UP, LM_HEAD: after their NORM phase
  }
}

// LM head below 128 rows: each thread's running argmax of its batch rows (n-tile, c0/c1 column), kept in shared
// memory rather than registers (the wide LM head keeps them in registers: run_slices<true>).
struct MmaScratch {
  static constexpr int kMaxNTiles = 4;  // at least MmaShape<R>::kNTiles of the buckets below 128 rows
  Best best[kMaxNTiles][2][kConsumerThreads];
};
static_assert(sizeof(MmaScratch) <= kScratchBytes, "scratch fits");

// The page row that A row `a_row` (0..15) of a tile reads: A rows i and i + 8 (a thread's c0 and c2) are
// page rows 2i and 2i + 1, the lower one first for i < 4 and second for i >= 4, so that the 8 rows of
// each ldmatrix phase have distinct (row & 7) and the swizzle spreads them over all bank groups.
__device__ __forceinline__ int a_page_row(int a_row) {
  const int i = a_row & 7;
  const bool upper = a_row >= 8;
  return 2 * i + (upper == (i < 4) ? 1 : 0);
}

// Position of a slice in an instruction's walk: tile group, chunk, and slice within the chunk.
struct Slice {
  int group, chunk, part;
};

// The opcode of a matvec epilogue as a type: a finished group's unrolled loops (up to 32 pairs per thread) are
// compiled once per opcode (with_epilogue_op) with that opcode's store alone. With the switch inside each pair, the
// 256-row kernel's epilogue was ~10,000 instructions and its warps stalled mostly on instruction fetch (H100, Nsight
// Compute: no_inst), 14-16 us per O_PROJ or DOWN instruction.
template <int kOp>
struct EpilogueOp {
  static constexpr int value = kOp;
};

// Calls f(EpilogueOp<op>{}) for an opcode that stores pairs (QKV, O_PROJ, DOWN, LM_HEAD; GATE_UP has its own
// epilogues). O_PROJ and DOWN store alike: as EpilogueOp<kOProj>.
template <typename F>
__device__ __forceinline__ void with_epilogue_op(int op, F&& f) {
  switch (op) {
    case kQkv: f(EpilogueOp<kQkv>{}); return;
    case kOProj:
    case kDown: f(EpilogueOp<kOProj>{}); return;
    case kLmHead: f(EpilogueOp<kLmHead>{}); return;
  }
}

// One thread's epilogue of weight rows `row` (even) and row + 1 for batch row b (< the step's count),
// as mk_matvec.cuh's epilogue does it for one row (GATE_UP: finish_gate_up). QKV: `qkv` is qkv_row(row), which
// the caller works out once for all the batch rows it stores of that row.
template <int kOp>
__device__ __forceinline__ void epilogue_pair(const Context& c, const Instruction& in, int b, int row,
                                              const QkvRow& qkv, float v0, float v1, Best& best) {
  const Model& m = *c.m;
  if constexpr (kOp == kQkv) {
    const QkvDestination d = qkv_destination(m, *c.step, in.layer, b, qkv);
    if (!d.rotate) {
      *reinterpret_cast<__nv_bfloat162*>(d.head + d.rr) = __floats2bfloat162_rn(v0, v1);
      return;
    }
    // Rows 2i and 2i + 1 (even rr) hold dims i and i + D/2 of the head.
    const int half = d.rr >> 1, D = (int)m.head_dim;
    const size_t angle = (size_t)c.step->positions[b] * (D / 2) + half;
    const float cs = __ldg(m.rope_cos + angle), sn = __ldg(m.rope_sin + angle);
    d.head[half] = __float2bfloat16_rn(v0 * cs - v1 * sn);
    d.head[half + D / 2] = __float2bfloat16_rn(v1 * cs + v0 * sn);
  } else if constexpr (kOp == kOProj) {  // and DOWN
    // This K piece's sums; the next NORM adds the pieces to the residual in order (mk_norm.cuh), so the
    // result does not depend on which SM finished first.
    const size_t at = ((size_t)in.piece * c.layout.rows + b) * m.hidden + row;
    *reinterpret_cast<float2*>(m.residual_partial + at) = make_float2(v0, v1);
  } else {
    static_assert(kOp == kLmHead, "an opcode that stores pairs");
    float* logits = m.logits + (size_t)b * m.vocab;
    if (row + 1 < m.vocab && (m.vocab & 1) == 0) {  // row is even: with an even vocab, an aligned pair
      if (c.keep_logits) *reinterpret_cast<float2*>(logits + row) = make_float2(v0, v1);
      keep_better(best, v0, row);
      keep_better(best, v1, row + 1);
      return;
    }
    if (row < m.vocab) {
      if (c.keep_logits) logits[row] = v0;
      keep_better(best, v0, row);
    }
    if (row + 1 < m.vocab) {
      if (c.keep_logits) logits[row + 1] = v1;
      keep_better(best, v1, row + 1);
    }
  }
}

template <int R>
class MmaMatvec {
  using S = MmaShape<R>;

 public:
  __device__ MmaMatvec(Context& c, const Instruction& in)
      : c_(c), in_(in), lane_(threadIdx.x & 31),
        wb_(S::kWide ? (threadIdx.x >> 5) / 4 : (threadIdx.x >> 5) % S::kBatchWarps),
        wt_(S::kWide ? (threadIdx.x >> 5) % 4 : (threadIdx.x >> 5) / S::kBatchWarps), ring_(c) {
    instruction_weights(in, *c.m, columns_);  // the loader streams the weights; the consumers need the width
    input_ = mma_input(in, *c.m);
    split_columns_ = columns_ / in.splits;
  }

  // The wide LM head (128 and 256 rows) runs its own copy of the slice loop (kWideArgmax), which keeps a running
  // argmax per thread and batch row column (32 at 256 rows) in registers: in the loop every other instruction
  // shares, those registers spilled and slowed GATE_UP's loop by 9% at 256 rows (H100, megakernel-trials.json).
  __device__ void run() {
    if constexpr (S::kWide) {
      if (in_.op == kLmHead) {
        run_slices<true>();
        return;
      }
    }
    run_slices<false>();
  }

 private:
  template <bool kWideArgmax>
  __device__ void run_slices() {
    unsigned long long page_wait_ns = 0, epilogue_ns = 0;
    // kWideArgmax: this thread's running argmax of its batch rows (n-tile j, column 2q + e; 32 at 256 rows) over the
    // groups.
    Best wide_best_of[kWideArgmax ? S::kNTiles : 1][2];
    if constexpr (kWideArgmax) {
#pragma unroll
      for (int j = 0; j < S::kNTiles; ++j) wide_best_of[j][0] = wide_best_of[j][1] = Best{-INFINITY, 0x7fffffff};
    } else if (!S::kWide && in_.op == kLmHead) {
#pragma unroll
      for (int j = 0; j < S::kNTiles; ++j) best(j, 0) = best(j, 1) = Best{-INFINITY, 0x7fffffff};
    }
    float acc[S::kWarpTiles][S::kNTiles][4];
    float done[S::kWarpTiles][S::kNTiles][4];  // the finished splits' sum (kSplitSums only)
    clear(acc);
    // The inputs were written by other SMs in this launch: see mk_sync.cuh (async proxy).
    if (issuer()) proxy_fence_global();
    // Slices 0..kStages-2 in flight; slice q + kStages - 1 is issued once slice q has landed.
    Slice ahead{0, in_.first_chunk, 0};
    unsigned issued = c_.staged;
#pragma unroll
    for (int i = 0; i < S::kStages - 1; ++i) stage_next(ahead, issued);
    Slice slice{0, in_.first_chunk, 0};
    for (int q = 0;; ++q) {
      wait_staged(c_.staged + q);  // slice q of the row group
      group_sync();  // every warp of the row group is done with slice q - 1
      if (q == 0) record_time(c_, kTimeStaged);
      stage_next(ahead, issued);  // into slice q - 1's buffer
      const int group_tiles = min(S::kTiles, in_.tile_count - slice.group * S::kTiles);
      if (slice.part == 0) {
        for (int t = 0; t < group_tiles; ++t) {
          const RingPosition r = ring_.plus(t, c_.pages);
          page_wait_ns += wait_slot(c_, r.slot, r.parity, c_.page + t);
        }
      }
      const int width = (int)page_columns(columns_, slice.chunk);
      const int part_columns = min(S::kSliceColumns, width - slice.part * S::kSliceColumns);
      if constexpr (S::kWide) {
        compute_wide(acc, slice, (c_.staged + q) % S::kStages, group_tiles);
      } else if constexpr (S::kWgmma) {
        compute_wgmma(acc, done, slice, (c_.staged + q) % S::kStages, part_columns, group_tiles);
      } else {
        compute(acc, done, slice, (c_.staged + q) % S::kStages, part_columns, group_tiles);
      }
      if ((slice.part + 1) * S::kSliceColumns >= width) release_pages(group_tiles);
      Slice next = slice;
      const bool more = advance(next);
      if (!more || next.group != slice.group) {
        const unsigned long long start = timing_now(c_);
        if constexpr (S::kSplitSums) {
          if (in_.splits > 1) add_split(done, acc);  // the last split: done + acc, as the graph's reduce adds it
        }
        if constexpr (S::kWgmma) {
          finish_group_wgmma(acc, slice.group, group_tiles);
        } else if constexpr (kWideArgmax) {
          finish_lm_head_wide(acc, slice.group, group_tiles, wide_best_of);
        } else if (S::kWide && group_tiles < S::kTiles && in_.op != kGateUp) {
          finish_short_group_wide(acc, slice.group, group_tiles);
        } else {
          finish_group(acc, slice.group, group_tiles);
        }
        epilogue_ns += timing_now(c_) - start;
        clear(acc);
      }
      if (!more) {
        c_.staged += q + 1;
        break;
      }
      slice = next;
    }
    if (c_.timing != nullptr) {
      c_.timing[kPageWaitNs] = page_wait_ns;
      c_.timing[kEpilogueNs] = epilogue_ns;
    }
    record_time(c_, kTimeComputed);
    if constexpr (kWideArgmax) {
      publish_argmax_wide(wide_best_of);
    } else if constexpr (!S::kWide) {
      if (in_.op == kLmHead) publish_argmax();
    }
  }

  Context& c_;
  const Instruction& in_;
  const int lane_, wb_, wt_;  // row group, and this warp's place among the row group's warps
  const __nv_bfloat16* input_;
  int columns_, split_columns_;  // K, and K / in.splits
  // Slot and round of page c_.page in the ring, moved on by release_pages, so that the slice loop divides by a
  // run-time value only for an instruction with K splits (first_boundary): on an H100 the 64-row loop was bound by
  // its integer instructions (Nsight Compute).
  RingPosition ring_;

  // The ring slot of the group's tile t (t < group_tiles).
  __device__ unsigned slot(int t) const { return ring_.plus(t, c_.pages).slot; }

  // QKV: what a tiled row's destination takes from the row alone (the other opcodes do not read it).
  template <int kOp>
  __device__ QkvRow qkv_of(int row) const {
    if constexpr (kOp == kQkv) return qkv_row(*c_.m, row);
    return QkvRow{};
  }

  // The first K split boundary at or after `column` (past K when there is one split).
  __device__ int first_boundary(int column) const {
    if (in_.splits == 1) return columns_;
    const int boundary = (column + split_columns_ - 1) / split_columns_ * split_columns_;
    return boundary == 0 ? split_columns_ : boundary;
  }

  // This thread's running argmax of the batch rows of n-tile j, column 2q + e (LM head).
  __device__ Best& best(int j, int e) const { return best_slot(j, e, threadIdx.x); }
  static_assert(S::kWide || S::kNTiles <= MmaScratch::kMaxNTiles, "the LM head's argmaxes fit the scratch");
  __device__ Best& best_slot(int j, int e, int thread) const {
    return reinterpret_cast<MmaScratch*>(scratch(c_.smem))->best[j][e][thread];
  }

  __device__ static void clear(float (&acc)[S::kWarpTiles][S::kNTiles][4]) {
#pragma unroll
    for (int t = 0; t < S::kWarpTiles; ++t)
#pragma unroll
      for (int j = 0; j < S::kNTiles; ++j)
#pragma unroll
        for (int i = 0; i < 4; ++i) acc[t][j][i] = 0.f;
  }

  // The row group's warps only (named barriers 2..9; 1 is consumer_sync).
  __device__ void group_sync() const {
    if constexpr (S::kTileWarps == 1) {
      __syncwarp();
    } else {
      asm volatile("bar.sync %0, %1;" ::"r"(2 + wb_), "n"(S::kGroupThreads) : "memory");
    }
  }

  __device__ uint8_t* buffer(int index) const {
    return reinterpret_cast<uint8_t*>(activations(c_.smem)) + index * S::kBufferBytes;
  }

  // The slice after `s`; false at the end of the instruction.
  __device__ bool advance(Slice& s) const {
    const int width = (int)page_columns(columns_, s.chunk);
    if (++s.part * S::kSliceColumns < width) return true;
    s.part = 0;
    if (++s.chunk < in_.first_chunk + in_.chunk_count) return true;
    s.chunk = in_.first_chunk;
    return ++s.group * S::kTiles < in_.tile_count;
  }

  // The thread that stages the row group's slices: lane 0 of its first warp.
  __device__ bool issuer() const { return wt_ == 0 && lane_ == 0; }

  // The row group's staged-slice mbarrier of the launch's n-th slice.
  __device__ unsigned long long* staged_barrier(unsigned n) const {
    return &header(c_.smem).staged[n % S::kStages][wb_];
  }

  // Issues the bulk copy of slice `s` (the launch's `issued`-th) for the row group's rows, unless `s` is
  // past the end of the instruction, and moves both on.
  __device__ void stage_next(Slice& s, unsigned& issued) const {
    if (s.group * S::kTiles >= in_.tile_count) return;
    if (issuer()) {
      const int column = s.chunk * kPageColumns + s.part * S::kSliceColumns;
      const int width = min(S::kSliceColumns, columns_ - column);
      const int first_row = wb_ * S::kGroupRows;  // a multiple of 8: its first chunk is not swizzled away
      const unsigned bytes = S::kGroupRows * width * 2;
      constexpr ActivationLayout kLayout{R, S::kSliceColumns};  // c_.layout, known at compile time
      unsigned long long* bar = staged_barrier(issued);
      mbarrier_arrive_expect_tx(bar, bytes);
      bulk_copy(buffer(issued % S::kStages) + first_row * width * 2,
                input_ + kLayout.index(first_row, column, columns_), bytes, bar);
    }
    ++issued;
    advance(s);  // at the end it leaves s.group past the last tile group
  }

  // Waits until the row group's rows of the launch's n-th slice have landed.
  __device__ void wait_staged(unsigned n) {
    Header& h = header(c_.smem);
    if (!mbarrier_wait(staged_barrier(n), (n / S::kStages) & 1, h, c_.watchdog.budget) && !h.block_abort) {
      c_.watchdog.fail(kStageTimeout, -1, wb_, n, 0);
      h.block_abort = 1;
    }
  }

  // acc += done when done holds earlier splits (acc is the current split's sum), so acc becomes the total.
  __device__ static void add_split(const float (&done)[S::kWarpTiles][S::kNTiles][4],
                                   float (&acc)[S::kWarpTiles][S::kNTiles][4]) {
#pragma unroll
    for (int t = 0; t < S::kWarpTiles; ++t)
#pragma unroll
      for (int j = 0; j < S::kNTiles; ++j)
#pragma unroll
        for (int i = 0; i < 4; ++i) acc[t][j][i] = done[t][j][i] + acc[t][j][i];
  }

  // A K split ends at column k: keep its sum (the first split's, or added to the earlier ones), start the next.
  __device__ static void end_split(float (&acc)[S::kWarpTiles][S::kNTiles][4],
                                   float (&done)[S::kWarpTiles][S::kNTiles][4], bool first) {
#pragma unroll
    for (int t = 0; t < S::kWarpTiles; ++t)
#pragma unroll
      for (int j = 0; j < S::kNTiles; ++j)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          done[t][j][i] = first ? acc[t][j][i] : done[t][j][i] + acc[t][j][i];
          acc[t][j][i] = 0.f;
        }
  }

  // One 16-column step: this warp's n-tiles' B fragments, then for each of its tiles one A fragment
  // (ldmatrix of the page) and an mma per n-tile. kAllTiles: the group is whole, no tile check.
  template <bool kAllTiles>
  __device__ void step(float (&acc)[S::kWarpTiles][S::kNTiles][4], uint32_t b_address, int b_row_bytes,
                       const uint32_t (&a_row)[S::kWarpTiles], uint32_t a_offset, int group_tiles) const {
    uint32_t b[S::kNTiles][2];
    if constexpr (S::kNTiles == 1) {
      gemm::ldmatrix_x2(b[0], b_address);
    } else {
#pragma unroll
      for (int jj = 0; jj < S::kNTiles / 2; ++jj) {
        uint32_t r[4];
        gemm::ldmatrix_x4(r, b_address + jj * 16 * b_row_bytes);
        b[2 * jj][0] = r[0];
        b[2 * jj][1] = r[1];
        b[2 * jj + 1][0] = r[2];
        b[2 * jj + 1][1] = r[3];
      }
    }
#pragma unroll
    for (int t = 0; t < S::kWarpTiles; ++t) {
      if (kAllTiles || wt_ + t * S::kTileWarps < group_tiles) {
        uint32_t a[4];
        gemm::ldmatrix_x4(a, a_row[t] + a_offset);
#pragma unroll
        for (int j = 0; j < S::kNTiles; ++j) gemm::mma_bf16(acc[t][j], a, b[j][0], b[j][1]);
      }
    }
  }

  // This warp's 16-column steps of the slice. A whole slice with no split ending inside (the common case)
  // runs unrolled, without per-step checks, so the fragment loads of later steps overlap the mmas of earlier
  // ones; the rest step by step.
  __device__ void compute(float (&acc)[S::kWarpTiles][S::kNTiles][4], float (&done)[S::kWarpTiles][S::kNTiles][4],
                          const Slice& s, int index, int part_columns, int group_tiles) const {
    const int i = lane_ & 7, matrix = lane_ >> 3;
    // B: matrices (n-tile 2jj, k lo), (2jj, k hi), (2jj + 1, k lo), (2jj + 1, k hi); the slice's rows are
    // part_columns wide, chunk c of row r stored at c ^ (r & 7), and r & 7 = i.
    const int b_row_index = wb_ * S::kGroupRows + (matrix >> 1) * 8 + i;
    const uint32_t b_row = smem_address(buffer(index)) + b_row_index * part_columns * 2;
    const int b_xor = (matrix & 1) ^ i;
    // A: matrices (rows 0-7, k lo), (rows 8-15, k lo), (rows 0-7, k hi), (rows 8-15, k hi).
    const int page_row = a_page_row(i + (matrix & 1) * 8);
    const int a_xor = (matrix >> 1) ^ (page_row & 7);  // logical chunk 2ks + hi, swizzled (chunk is even)
    uint32_t a_row[S::kWarpTiles];
#pragma unroll
    for (int t = 0; t < S::kWarpTiles; ++t) {
      const int tile = wt_ + t * S::kTileWarps;
      a_row[t] = smem_address(c_.smem + c_.pages_offset) + slot(tile) * kPageBytes +
                 page_row * kBlockColumns * 2;  // the row in block 0 (a_offset adds the block and chunk)
    }
    // Step ks reads logical chunk 2ks + hi of the slice: in block first_block + ks / 4 of the page (mk_common.cuh,
    // page_offset), at chunk ((2ks) & 7) ^ a_xor of the page row.
    const int first_block = s.part * S::kSliceColumns / kBlockColumns;
    auto a_offset = [&](int ks) { return (first_block + ks / 4) * kBlockBytes + (((2 * ks) & 7) ^ a_xor) * 16; };
    const int column = s.chunk * kPageColumns + s.part * S::kSliceColumns;
    int boundary = first_boundary(column);
    if constexpr (S::kSplitSums) {
      if (column == boundary) {
        end_split(acc, done, column == split_columns_);
        boundary += split_columns_;
      }
    }
    if (part_columns == S::kSliceColumns && (!S::kSplitSums || boundary >= column + S::kSliceColumns)) {
      if (group_tiles == S::kTiles) {
#pragma unroll
        for (int ks = 0; ks < S::kSteps; ++ks) {
          step<true>(acc, b_row + ((2 * ks) ^ b_xor) * 16, S::kSliceColumns * 2, a_row, a_offset(ks), S::kTiles);
        }
      } else {  // a short group (one tile per SM for O_PROJ and DOWN): the same, with the tile checks
#pragma unroll
        for (int ks = 0; ks < S::kSteps; ++ks) {
          step<false>(acc, b_row + ((2 * ks) ^ b_xor) * 16, S::kSliceColumns * 2, a_row, a_offset(ks), group_tiles);
        }
      }
      return;
    }
    for (int ks = 0; ks < part_columns / 16; ++ks) {
      if constexpr (S::kSplitSums) {
        const int k = column + 16 * ks;
        if (k == boundary) {
          end_split(acc, done, k == split_columns_);
          boundary += split_columns_;
        }
      }
      step<false>(acc, b_row + ((2 * ks) ^ b_xor) * 16, part_columns * 2, a_row, a_offset(ks), group_tiles);
    }
  }

  // Slab s of tile t's accumulators as wgmma's m64n16 fragment: d[4i + k] = acc[t][2s + i][k].
  __device__ static float (&fragment(float (&acc)[S::kWarpTiles][S::kNTiles][4], int t, int s))[8] {
    return reinterpret_cast<float(&)[8]>(acc[t][2 * s]);
  }

  // The slice on tensor cores by wgmma: this warp loads its slabs' A fragments for every k16 step of the slice
  // (ldmatrix of the staged rows), then its warpgroup issues one m64n16k16 per (step, tile, slab) with B read
  // by the tensor cores from the tile's page (mk_common.cuh: 64-column blocks in the 128-byte swizzle that the
  // descriptor names), and waits for them: the A registers, the accumulators and the pages are free afterwards.
  // A slice with a split boundary inside, or a narrow one, goes step by step.
  __device__ void compute_wgmma(float (&acc)[S::kWarpTiles][S::kNTiles][4],
                                float (&done)[S::kWarpTiles][S::kNTiles][4], const Slice& s, int index,
                                int part_columns, int group_tiles) const {
    const int i = lane_ & 7, matrix = lane_ >> 3;
    // A quarters (rows 0-7, k lo), (rows 8-15, k lo), (rows 0-7, k hi), (rows 8-15, k hi) of slab 0; row & 7 = i.
    const int row = wb_ * S::kGroupRows + (matrix & 1) * 8 + i;
    const uint32_t a_row = smem_address(buffer(index)) + row * part_columns * 2;
    const int a_xor = (matrix >> 1) ^ i;
    const int slab_bytes = 16 * part_columns * 2;
    // A short group's missing tiles multiply tile 0's page again, never stored: a wgmma under a branch would
    // make ptxas serialise all of them.
    uint64_t b_desc[S::kWarpTiles];
#pragma unroll
    for (int t = 0; t < S::kWarpTiles; ++t) {
      const int tile = wt_ + t * S::kTileWarps < group_tiles ? wt_ + t * S::kTileWarps : 0;
      b_desc[t] = sm90::sw128_kmajor_descriptor(smem_address(c_.smem + c_.pages_offset) +
                                                slot(tile) * kPageBytes +
                                                s.part * S::kSliceColumns / kBlockColumns * kBlockBytes);
    }
    // Step ks: block ks / 4 of the slice, 32 bytes further per step inside it (the descriptor counts 16 bytes).
    auto b_step = [](int ks) { return (uint32_t)((ks / 4) * (kBlockBytes / 16) + (ks % 4) * 2); };
    auto issue = [&](const uint32_t (&a)[S::kSlabs][4], int ks) {
#pragma unroll
      for (int t = 0; t < S::kWarpTiles; ++t)
#pragma unroll
        for (int sl = 0; sl < S::kSlabs; ++sl) {
          sm90::wgmma_m64n16k16_rs(fragment(acc, t, sl), a[sl], sm90::descriptor_plus(b_desc[t], b_step(ks)), 1);
        }
    };
    auto load = [&](uint32_t (&a)[S::kSlabs][4], int ks) {
#pragma unroll
      for (int sl = 0; sl < S::kSlabs; ++sl) {
        gemm::ldmatrix_x4(a[sl], a_row + sl * slab_bytes + ((2 * ks) ^ a_xor) * 16);
      }
    };
    const int column = s.chunk * kPageColumns + s.part * S::kSliceColumns;
    int boundary = first_boundary(column);
    if constexpr (S::kSplitSums) {
      if (column == boundary) {  // the accumulators are settled: the slice before ended with a wait
        end_split(acc, done, column == split_columns_);
        boundary += split_columns_;
      }
    }
    if (part_columns == S::kSliceColumns && (!S::kSplitSums || boundary >= column + S::kSliceColumns)) {
      uint32_t a[S::kSteps][S::kSlabs][4];
#pragma unroll
      for (int ks = 0; ks < S::kSteps; ++ks) load(a[ks], ks);
      sm90::wgmma_fence();  // the A registers' writes and the accumulators' last ones before the async reads
#pragma unroll
      for (int ks = 0; ks < S::kSteps; ++ks) issue(a[ks], ks);
      sm90::wgmma_commit();
      sm90::wgmma_wait<0>();
#pragma unroll
      for (int ks = 0; ks < S::kSteps; ++ks)
#pragma unroll
        for (int sl = 0; sl < S::kSlabs; ++sl) hold(a[ks][sl]);
      pin(acc);
      return;
    }
    for (int ks = 0; ks < part_columns / 16; ++ks) {
      if constexpr (S::kSplitSums) {
        if (column + 16 * ks == boundary) {
          end_split(acc, done, column + 16 * ks == split_columns_);
          boundary += split_columns_;
        }
      }
      uint32_t a[S::kSlabs][4];
      load(a, ks);
      sm90::wgmma_fence();
      issue(a, ks);
      sm90::wgmma_commit();
      sm90::wgmma_wait<0>();
#pragma unroll
      for (int sl = 0; sl < S::kSlabs; ++sl) hold(a[sl]);
      pin(acc);
    }
  }

  // The slice from 128 rows (kWide): this warp's tile (wt_) is A, read with ldmatrix from its page in mma.sync's
  // permuted row order (a_page_row), so the accumulators hold a thread's RoPE or gate/up pair as mma.sync's c0/c2
  // do; B is the row group's 64 or 128 rows of the staged slice (64 columns, 128-byte rows swizzled by row & 7: the
  // K-major layout a 128-byte-swizzle descriptor names). One m64n64k16 or m64n128k16 per k16 step; the warpgroup
  // waits for them at the end of the slice (the A registers and the slice buffer are free then). A warp without a
  // tile in a short group multiplies tile 0's page again and stores nothing from it.
  __device__ void compute_wide(float (&acc)[S::kWarpTiles][S::kNTiles][4], const Slice& s, int index,
                               int group_tiles) const {
    static_assert(S::kWarpTiles == 1 && S::kSliceColumns == kBlockColumns &&
                  (S::kGroupRows == 64 || S::kGroupRows == 128), "m64n64 or m64n128");
    const int i = lane_ & 7, matrix = lane_ >> 3;
    const int page_row = a_page_row(i + (matrix & 1) * 8);
    const int a_xor = (matrix >> 1) ^ (page_row & 7);
    const int tile = wt_ < group_tiles ? wt_ : 0;
    const uint32_t a_row = smem_address(c_.smem + c_.pages_offset) + slot(tile) * kPageBytes +
                           page_row * kBlockColumns * 2 + s.part * kBlockBytes;
    const uint64_t b_desc =
        sm90::sw128_kmajor_descriptor(smem_address(buffer(index)) + wb_ * S::kGroupRows * kBlockColumns * 2);
    uint32_t a[S::kSteps][4];
#pragma unroll
    for (int ks = 0; ks < S::kSteps; ++ks) gemm::ldmatrix_x4(a[ks], a_row + (((2 * ks) & 7) ^ a_xor) * 16);
    sm90::wgmma_fence();
#pragma unroll
    for (int ks = 0; ks < S::kSteps; ++ks) {
      const uint64_t b = sm90::descriptor_plus(b_desc, 2 * ks);
      if constexpr (S::kGroupRows == 128) {
        sm90::wgmma_m64n128k16_rs(reinterpret_cast<float(&)[64]>(acc[0]), a[ks], b, 1);
      } else {
        sm90::wgmma_m64n64k16_rs(reinterpret_cast<float(&)[32]>(acc[0]), a[ks], b, 1);
      }
    }
    sm90::wgmma_commit();
    sm90::wgmma_wait<0>();
#pragma unroll
    for (int ks = 0; ks < S::kSteps; ++ks) hold(a[ks]);
    pin(acc);
  }

  // The wide LM head: each thread keeps a running argmax of its batch rows (at 256 rows 32: 16 n-tiles x 2
  // columns) in registers over the instruction's groups; at the end the 8 lanes of a column (one per g) meet, and
  // lane q puts the warp's best of that batch row in shared memory (wide_best), which publish_argmax_wide meets over
  // the warpgroup's 4 tile warps.
  __device__ Best& wide_best(int warp, int row) const {
    static_assert(sizeof(Best) * kConsumerWarps * 128 <= kScratchBytes, "one best per warp and row group row");
    return reinterpret_cast<Best*>(scratch(c_.smem))[warp * 128 + row];
  }

  __device__ void finish_lm_head_wide(const float (&acc)[S::kWarpTiles][S::kNTiles][4], int group, int group_tiles,
                                      Best (&mine)[S::kNTiles][2]) const {
    const int count = c_.step->count;
    const int g = lane_ >> 2, q = lane_ & 3;
    const bool swapped = g >= 4;  // c0 holds the pair's odd row
    const int row = (in_.first_tile + group * S::kTiles + wt_) * kTileRows + 2 * g;
#pragma unroll
    for (int j = 0; j < S::kNTiles; ++j) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int b = j * 8 + 2 * q + e;  // in the row group
        if (wt_ < group_tiles && wb_ * S::kGroupRows + b < count) {
          const float first = acc[0][j][e], second = acc[0][j][2 + e];
          epilogue_pair<kLmHead>(c_, in_, wb_ * S::kGroupRows + b, row, QkvRow{}, swapped ? second : first,
                                 swapped ? first : second, mine[j][e]);
        }
      }
    }
  }

  // A short wide group (QKV's 1 or 2 tiles per SM): each tile's accumulators sit in one warp of each warpgroup,
  // whose epilogues would then store the tile's rows alone while the other 3 warps wait. Instead the owner passes
  // them through the scratch (lane-major, up to 8 KiB per warpgroup) and each of the warpgroup's 4 warps stores a
  // quarter of the n-tiles; lane l reads lane l's values, so the pair layout is unchanged.
  __device__ void finish_short_group_wide(const float (&acc)[S::kWarpTiles][S::kNTiles][4], int group,
                                          int group_tiles) const {
    constexpr int kShare = S::kNTiles / 4;  // n-tiles per warp of the warpgroup
    static_assert(2 * S::kNTiles * 4 * 32 * sizeof(float) <= kScratchBytes, "one tile per warpgroup fits");
    float* passed = reinterpret_cast<float*>(scratch(c_.smem)) + wb_ * S::kNTiles * 4 * 32;
    const int count = c_.step->count;
    const int g = lane_ >> 2, q = lane_ & 3;
    const bool swapped = g >= 4;  // c0 holds the pair's odd row
    for (int t = 0; t < group_tiles; ++t) {
      if (wt_ == t) {
#pragma unroll
        for (int j = 0; j < S::kNTiles; ++j)
#pragma unroll
          for (int k = 0; k < 4; ++k) passed[(j * 4 + k) * 32 + lane_] = acc[0][j][k];
      }
      group_sync();
      const int row = (in_.first_tile + group * S::kTiles + t) * kTileRows + 2 * g;
      with_epilogue_op(in_.op, [&](auto op) {
        constexpr int kOp = decltype(op)::value;
        if constexpr (kOp != kLmHead) {  // the LM head never comes here (finish_lm_head_wide)
          const QkvRow qkv = qkv_of<kOp>(row);
#pragma unroll
          for (int jj = 0; jj < kShare; ++jj) {
            const int j = wt_ * kShare + jj;
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              const int b = wb_ * S::kGroupRows + j * 8 + 2 * q + e;
              if (b >= count) continue;
              const float first = passed[(j * 4 + e) * 32 + lane_], second = passed[(j * 4 + 2 + e) * 32 + lane_];
              epilogue_pair<kOp>(c_, in_, b, row, qkv, swapped ? second : first, swapped ? first : second,
                                 best(0, 0));
            }
          }
        }
      });
      group_sync();  // every warp has read this tile before the next one is passed
    }
  }

  __device__ void publish_argmax_wide(Best (&mine)[S::kNTiles][2]) {
    const Model& m = *c_.m;
    const int g = lane_ >> 2, q = lane_ & 3;
#pragma unroll
    for (int j = 0; j < S::kNTiles; ++j) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
#pragma unroll
        for (int o = 4; o <= 16; o <<= 1) {
          const float value = __shfl_xor_sync(0xffffffffu, mine[j][e].value, o);
          const int index = __shfl_xor_sync(0xffffffffu, mine[j][e].index, o);
          keep_better(mine[j][e], value, index);
        }
        if (g == 0) wide_best(threadIdx.x >> 5, j * 8 + 2 * q + e) = mine[j][e];
      }
    }
    consumer_sync();
    for (int b = threadIdx.x; b < R; b += kConsumerThreads) {
      const int group = b / S::kGroupRows;
      Best block{-INFINITY, 0x7fffffff};
      for (int w = 0; w < S::kTileWarps; ++w) {
        const Best& theirs = wide_best(group * 4 + w, b % S::kGroupRows);
        keep_better(block, theirs.value, theirs.index);
      }
      m.lm_partial_value[in_.partial * kMaxStepRows + b] = block.value;
      m.lm_partial_index[in_.partial * kMaxStepRows + b] = block.index;
    }
    pick_tokens(c_, in_);
  }

  // After a wgmma_wait: an A fragment's registers stay unchanged up to here (a wgmma reads them until it
  // completes), and (pin) the accumulators' values are those the wgmmas wrote (no read moves above the wait).
  __device__ static void hold(const uint32_t (&a)[4]) {
    asm volatile("" ::"r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]) : "memory");
  }
  __device__ static void pin(float (&acc)[S::kWarpTiles][S::kNTiles][4]) {
#pragma unroll
    for (int t = 0; t < S::kWarpTiles; ++t)
#pragma unroll
      for (int j = 0; j < S::kNTiles; ++j) sm90::pin_accumulators(acc[t][j]);
  }

  // Epilogues after wgmma: thread (warp, lane l) holds, for slab s of its row group, batch rows
  // wb * kGroupRows + 16s + l/4 (+ 8: the second half of d) and weight rows 8i + 2(l%4), + 1 of each tile
  // (d[4i], d[4i + 1]): a RoPE or gate/up pair, as the CUDA-core path's warps hold them.
  __device__ void finish_group_wgmma(float (&acc)[S::kWarpTiles][S::kNTiles][4], int group, int group_tiles) const {
    if (in_.op == kGateUp) {
      finish_gate_up_wgmma(acc, group, group_tiles);
      return;
    }
    const int count = c_.step->count;
    const int g = lane_ >> 2, q = lane_ & 3;
    with_epilogue_op(in_.op, [&](auto op) {
      constexpr int kOp = decltype(op)::value;
#pragma unroll
      for (int t = 0; t < S::kWarpTiles; ++t) {
        const int tile = wt_ + t * S::kTileWarps;
        if (tile >= group_tiles) continue;
        const int tile_row = (in_.first_tile + group * S::kTiles + tile) * kTileRows + 2 * q;
#pragma unroll
        for (int i = 0; i < 2; ++i) {
          const int row = tile_row + 8 * i;
          const QkvRow qkv = qkv_of<kOp>(row);
#pragma unroll
          for (int sl = 0; sl < S::kSlabs; ++sl) {
            const float (&d)[8] = fragment(acc, t, sl);
#pragma unroll
            for (int half = 0; half < 2; ++half) {
              const int b = wb_ * S::kGroupRows + 16 * sl + 8 * half + g;
              if (b >= count) continue;
              epilogue_pair<kOp>(c_, in_, b, row, qkv, d[4 * i + 2 * half], d[4 * i + 2 * half + 1],
                                 best(sl, half));
            }
          }
        }
      }
    });
  }

  // GATE_UP after wgmma: a tile's 8 mlp columns 4i + (l%4) of one batch row are held by the 4 lanes of one l/4,
  // two each; they meet in the warp's part of the scratch as one 16-byte chunk, which one lane stores.
  __device__ void finish_gate_up_wgmma(float (&acc)[S::kWarpTiles][S::kNTiles][4], int group, int group_tiles) const {
    constexpr int kRows = S::kWarpTiles * S::kSlabs * 2 * 8;  // (tile, slab, half, l/4): one chunk each
    static_assert(kConsumerWarps * kRows * 16 <= kScratchBytes, "every warp's chunks fit the scratch");
    __nv_bfloat16* staged = reinterpret_cast<__nv_bfloat16*>(scratch(c_.smem)) + (threadIdx.x >> 5) * kRows * 8;
    const int g = lane_ >> 2, q = lane_ & 3;
#pragma unroll
    for (int t = 0; t < S::kWarpTiles; ++t)
#pragma unroll
      for (int sl = 0; sl < S::kSlabs; ++sl) {
        const float (&d)[8] = fragment(acc, t, sl);
#pragma unroll
        for (int half = 0; half < 2; ++half)
#pragma unroll
          for (int i = 0; i < 2; ++i) {
            const float gate = d[4 * i + 2 * half], up = d[4 * i + 2 * half + 1];
            staged[(((t * S::kSlabs + sl) * 2 + half) * 8 + g) * 8 + 4 * i + q] = __float2bfloat16_rn(silu(gate) * up);
          }
      }
    __syncwarp();
    const int count = c_.step->count;
    for (int r = lane_; r < kRows; r += 32) {
      const int rg = r & 7, half = (r >> 3) & 1, sl = (r >> 4) % S::kSlabs, t = (r >> 4) / S::kSlabs;
      const int tile = wt_ + t * S::kTileWarps;
      const int b = wb_ * S::kGroupRows + 16 * sl + 8 * half + rg;
      if (tile < group_tiles && b < count) store_mlp_chunk(group, tile, b, staged + r * 8);
    }
    __syncwarp();  // every lane has stored its chunks before the next group's epilogue refills them
  }

  // This thread is done with the group's pages of this chunk: one arrival per thread and page (also for the
  // pages of tiles its warp does not compute, which it has waited for, so no arrival runs a round ahead).
  __device__ void release_pages(int group_tiles) {
    Header& h = header(c_.smem);
    for (int t = 0; t < group_tiles; ++t) mbarrier_arrive(&h.empty[slot(t)]);
    c_.page += group_tiles;
    ring_ = ring_.plus(group_tiles, c_.pages);
  }

  // Epilogues of this warp's finished tiles of the group: for n-tile j, c0/c1 are page row 2g or 2g + 1
  // (a_page_row) for batch rows 2q and 2q + 1, c2/c3 the pair's other row.
  __device__ void finish_group(const float (&acc)[S::kWarpTiles][S::kNTiles][4], int group, int group_tiles) const {
    if (in_.op == kGateUp) {
      finish_gate_up(acc, group, group_tiles);
      return;
    }
    const int count = c_.step->count;
    const int g = lane_ >> 2, q = lane_ & 3;
    const bool swapped = g >= 4;  // c0 holds the pair's odd row
    with_epilogue_op(in_.op, [&](auto op) {
      constexpr int kOp = decltype(op)::value;
      if constexpr (!(S::kWide && kOp == kLmHead)) {  // the wide LM head: finish_lm_head_wide
#pragma unroll
        for (int t = 0; t < S::kWarpTiles; ++t) {
          const int tile = wt_ + t * S::kTileWarps;
          if (tile >= group_tiles) continue;
          const int row = (in_.first_tile + group * S::kTiles + tile) * kTileRows + 2 * g;
          const QkvRow qkv = qkv_of<kOp>(row);
#pragma unroll
          for (int j = 0; j < S::kNTiles; ++j) {
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              const int b = wb_ * S::kGroupRows + j * 8 + 2 * q + e;
              if (b >= count) continue;
              const float first = acc[t][j][e], second = acc[t][j][2 + e];
              epilogue_pair<kOp>(c_, in_, b, row, qkv, swapped ? second : first, swapped ? first : second,
                                 best(j, e));
            }
          }
        }
      }
    });
  }

  // GATE_UP's epilogue, h = silu(gate) * up: a tile's 8 mlp columns of one batch row are one 16-byte chunk
  // of the input layout, held by the 8 lanes of one q (one column each). They meet in the warp's part of the
  // scratch, and one lane stores the chunk: a warp's stores then cover whole chunks instead of 2 bytes in
  // each of 32 places.
  __device__ void finish_gate_up(const float (&acc)[S::kWarpTiles][S::kNTiles][4], int group, int group_tiles) const {
    constexpr int kChunks = S::kWarpTiles * S::kNTiles * 8;  // (tile, n-tile, e, q)
    static_assert(kConsumerWarps * kChunks * 16 <= kScratchBytes, "every warp's chunks fit the scratch");
    __nv_bfloat16* staged = reinterpret_cast<__nv_bfloat16*>(scratch(c_.smem)) + (threadIdx.x >> 5) * kChunks * 8;
    const int g = lane_ >> 2, q = lane_ & 3;
    const bool swapped = g >= 4;  // c0 holds the pair's odd row (a_page_row): the up row
#pragma unroll
    for (int t = 0; t < S::kWarpTiles; ++t)
#pragma unroll
      for (int j = 0; j < S::kNTiles; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const float gate = swapped ? acc[t][j][2 + e] : acc[t][j][e];
          const float up = swapped ? acc[t][j][e] : acc[t][j][2 + e];
          staged[(((t * S::kNTiles + j) * 2 + e) * 4 + q) * 8 + g] = __float2bfloat16_rn(silu(gate) * up);
        }
    __syncwarp();
    const int count = c_.step->count;
    for (int i = lane_; i < kChunks; i += 32) {
      const int chunk_q = i & 3, e = (i >> 2) & 1, j = (i >> 3) % S::kNTiles, t = (i >> 3) / S::kNTiles;
      const int tile = wt_ + t * S::kTileWarps;
      const int b = wb_ * S::kGroupRows + j * 8 + 2 * chunk_q + e;
      if (tile < group_tiles && b < count) store_mlp_chunk(group, tile, b, staged + i * 8);
    }
    __syncwarp();  // every lane has stored its chunks before the next group's epilogue refills them
  }

  // One staged 16-byte chunk of h = silu(gate) * up: the group's tile `tile` gives 8 mlp columns of batch row b.
  __device__ void store_mlp_chunk(int group, int tile, int b, const __nv_bfloat16* chunk) const {
    const Model& m = *c_.m;
    const int column = (in_.first_tile + group * S::kTiles + tile) * (kTileRows / 2);
    constexpr ActivationLayout kLayout{R, S::kSliceColumns};  // c_.layout, known at compile time (no division)
    *reinterpret_cast<uint4*>(m.mlp + kLayout.index(b, column, (int)m.intermediate)) =
        *reinterpret_cast<const uint4*>(chunk);
  }

  // LM head: the lanes that hold a batch row's slot meet (shuffles over lane bits kFrom..kTo; keep_better is
  // order-free), then one thread per row meets the row group's tile warps and stores this block's argmax of the
  // row; then the last block picks the tokens. mma.sync: row 2q + e of n-tile j is slot (j, e) of the 8 lanes of
  // one q, met in lane q. wgmma: row 16s + 8h + g of a row group is slot (s, h) of the 4 lanes of one g, met in
  // lane 4g. (From 128 rows: publish_argmax_wide.)
  __device__ void publish_argmax() {
    if constexpr (S::kWgmma) {
      publish_argmax_of<S::kSlabs, 1, 2>([](int rest) { return RowSlot{rest / 16, rest % 16 / 8, 4 * (rest % 8)}; });
    } else {
      publish_argmax_of<S::kNTiles, 4, 16>([](int rest) { return RowSlot{rest / 8, rest % 2, rest % 8 / 2}; });
    }
  }

  struct RowSlot {
    int j, e, lane;
  };

  template <int kSlots, int kFrom, int kTo, typename SlotOf>
  __device__ void publish_argmax_of(SlotOf slot_of) {
    const Model& m = *c_.m;
#pragma unroll
    for (int j = 0; j < kSlots; ++j) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        Best mine = best(j, e);
#pragma unroll
        for (int o = kFrom; o <= kTo; o <<= 1) {
          const float value = __shfl_xor_sync(0xffffffffu, mine.value, o);
          const int index = __shfl_xor_sync(0xffffffffu, mine.index, o);
          keep_better(mine, value, index);
        }
        if ((lane_ & (2 * kTo - kFrom)) == 0) best(j, e) = mine;
      }
    }
    consumer_sync();
    for (int b = threadIdx.x; b < R; b += kConsumerThreads) {
      const int group = b / S::kGroupRows;
      const RowSlot slot = slot_of(b % S::kGroupRows);
      Best block{-INFINITY, 0x7fffffff};
      for (int w = 0; w < S::kTileWarps; ++w) {
        const Best& theirs = best_slot(slot.j, slot.e, (w * S::kBatchWarps + group) * 32 + slot.lane);
        keep_better(block, theirs.value, theirs.index);
      }
      m.lm_partial_value[in_.partial * kMaxStepRows + b] = block.value;
      m.lm_partial_index[in_.partial * kMaxStepRows + b] = block.index;
    }
    pick_tokens(c_, in_);
  }
};

template <int R>
__device__ void run_mma(Context& c, const Instruction& in) {
  MmaMatvec<R>(c, in).run();
}

}  // namespace mk
