// The matvec instructions (QKV, O_PROJ, GATE_UP, DOWN, LM_HEAD) for buckets of 16..256 rows on tensor
// cores: mma.sync m16n8k16, bf16 in, fp32 accumulators.
//
// Roles: A (16 x 16, row-major) is 16 batch rows of activations, B (16 x 8, "col": k contiguous per n) is 8
// weight rows, C is batch rows x weight rows. With the batch as M, a thread's c0/c1 (and c2/c3) are weight
// rows 2j and 2j + 1 of one batch row: exactly a RoPE pair or a gate/up pair (TileLayout), so every
// epilogue works on a pair in one thread, without shuffles.
//
// Order: an instruction's tiles go in groups of kTiles (tile_group); for each group the K chunks (512
// columns, one page per tile) go in column order, and for each chunk the group's pages are all held
// while the chunk's activations pass through shared memory in slices [R][kSliceColumns], double-buffered
// (cp.async through L2) so that the next slice lands while this one is computed. One staged slice
// serves kTiles tiles: activations cost R / (16 * kTiles) bytes of L2 reads per weight byte. The loader
// streams pages in the same order (PageCursor with groups of kTiles).
//
// Warps: kBatchWarps split the batch, each taking kMTiles blocks of 16 rows and all of the group's
// weight rows (so every B fragment is loaded by kBatchWarps warps and every A fragment serves
// 2 * kTiles mmas); below 128 rows that leaves warps over, which split each slice's 16-column steps
// (kKWarps) and are summed at the group's end in warp order through shared memory: deterministic.
#pragma once
#include "../gemm.cuh"  // gemm::ldmatrix_x4, gemm::mma_bf16 (fragment layouts documented there), cp.async
#include "mk_norm.cuh"

namespace mk {

constexpr int kSliceBytes = 32 * 1024;  // activations of one slice buffer, before padding

template <int R>
struct MmaShape {
  static_assert(R > kMaxCoreRows && R <= kMaxStepRows && (R & (R - 1)) == 0, "a tensor-core bucket");
  static constexpr int kBatchWarps = R / 16 < kConsumerWarps ? R / 16 : kConsumerWarps;
  static constexpr int kKWarps = kConsumerWarps / kBatchWarps;
  static constexpr int kMTiles = R / 16 / kBatchWarps;
  static constexpr int kTiles = tile_group(R);
  static constexpr int kAccumulators = kMTiles * kTiles * 2 * 4;  // per thread: m-tiles x n-tiles x 4
  static constexpr int kSliceColumns = kSliceBytes / 2 / R < kPageColumns ? kSliceBytes / 2 / R : kPageColumns;
  // 16 bytes of padding per row: the 8 rows of an ldmatrix land in 8 different bank groups.
  static constexpr int kRowBytes = kSliceColumns * 2 + 16;
  static constexpr int kBufferBytes = kSliceBytes + 16 * R;  // SharedMemoryPlan.java: two of them
  static_assert(R * kRowBytes <= kBufferBytes, "a slice fits its buffer");
  static_assert((kKWarps - 1) * kBatchWarps * kAccumulators * 32 * 4 <= kBufferBytes, "k-warp sums fit a buffer");
};

// The activations a matvec instruction reads: bf16 [rows][columns], written earlier in this launch.
__device__ __forceinline__ const __nv_bfloat16* mma_input(const Instruction& in, const Model& m) {
  switch (in.op) {
    case kOProj: return m.attention;
    case kDown: return m.mlp;
    default: return m.normed;  // QKV, GATE_UP, LM_HEAD: after their NORM phase
  }
}

// LM head: each thread's running argmax of its batch rows (m-tile, c0/c2 half), kept in shared memory
// rather than registers, which the accumulators of 256 rows need.
struct MmaScratch {
  static constexpr int kMaxMTiles = 2;  // MmaShape<kMaxStepRows>::kMTiles
  Best best[kMaxMTiles][2][kConsumerThreads];
};
static_assert(sizeof(MmaScratch) <= kScratchBytes, "scratch fits");

// Position of a slice in an instruction's walk: tile group, chunk, and slice within the chunk.
struct Slice {
  int group, chunk, part;
};

// One thread's epilogue of weight rows `row` (even) and row + 1 for batch row b (< the step's count),
// as mk_matvec.cuh's epilogue does it for one row.
__device__ __forceinline__ void epilogue_pair(const Context& c, const Instruction& in, int b, int row, float v0,
                                              float v1, Best& best) {
  const Model& m = *c.m;
  switch (in.op) {
    case kQkv: {
      const QkvDestination d = qkv_destination(m, *c.step, in.layer, b, row);
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
      return;
    }
    case kOProj:
    case kDown:
      // One addition per element and phase: deterministic, as on CUDA cores. hidden is a multiple of 64.
      atomicAdd(reinterpret_cast<float2*>(m.residual + (size_t)b * m.hidden + row), make_float2(v0, v1));
      return;
    case kGateUp:  // gate j in row 2j, up j in row 2j + 1
      m.mlp[(size_t)b * m.intermediate + row / 2] = __float2bfloat16_rn(silu(v0) * v1);
      return;
    case kLmHead: {
      float* logits = m.logits + (size_t)b * m.vocab;
      if (row < m.vocab) {
        logits[row] = v0;
        keep_better(best, v0, row);
      }
      if (row + 1 < m.vocab) {
        logits[row + 1] = v1;
        keep_better(best, v1, row + 1);
      }
      return;
    }
  }
}

template <int R>
class MmaMatvec {
  using S = MmaShape<R>;

 public:
  __device__ MmaMatvec(Context& c, const Instruction& in)
      : c_(c), in_(in), lane_(threadIdx.x & 31), wb_((threadIdx.x >> 5) % S::kBatchWarps),
        wk_((threadIdx.x >> 5) / S::kBatchWarps) {
    instruction_weights(in, *c.m, columns_);  // the loader streams the weights; the consumers need the width
    chunks_ = (columns_ + kPageColumns - 1) / kPageColumns;
    input_ = mma_input(in, *c.m);
  }

  __device__ void run() {
    unsigned long long page_wait_ns = 0, epilogue_ns = 0;
    static_assert(S::kMTiles <= MmaScratch::kMaxMTiles, "argmax slots");
#pragma unroll
    for (int mi = 0; mi < S::kMTiles; ++mi) best(mi, 0) = best(mi, 1) = Best{-INFINITY, 0x7fffffff};
    float acc[S::kMTiles][S::kTiles][2][4];
    clear(acc);
    Slice slice{0, 0, 0};
    stage(slice, 0);
    for (int q = 0;; ++q) {
      Slice next = slice;
      const bool more = advance(next);
      gemm::cp_async_wait<0>();
      consumer_sync();  // slice q landed for every thread; every warp is done with slice q - 1's buffer
      if (q == 0) record_time(c_, kTimeStaged);
      if (more) stage(next, (q + 1) & 1);
      const int group_tiles = min(S::kTiles, in_.tile_count - slice.group * S::kTiles);
      if (slice.part == 0) {
        for (int t = 0; t < group_tiles; ++t) page_wait_ns += wait_page(c_, c_.page + t);
      }
      const int width = (int)page_columns(columns_, slice.chunk);
      const int part_columns = min(S::kSliceColumns, width - slice.part * S::kSliceColumns);
      compute(acc, slice, (q & 1), width, part_columns, group_tiles);
      if ((slice.part + 1) * S::kSliceColumns >= width) release_pages(group_tiles);
      if (!more || next.group != slice.group) {
        sum_k_warps(acc, q & 1);
        const unsigned long long start = timing_now(c_);
        if (wk_ == 0) finish_group(acc, slice.group, group_tiles);
        epilogue_ns += timing_now(c_) - start;
        clear(acc);
      }
      if (!more) break;
      slice = next;
    }
    if (c_.timing != nullptr) {
      c_.timing[kPageWaitNs] = page_wait_ns;
      c_.timing[kEpilogueNs] = epilogue_ns;
    }
    record_time(c_, kTimeComputed);
    if (in_.op == kLmHead) publish_argmax();
  }

 private:
  Context& c_;
  const Instruction& in_;
  const int lane_, wb_, wk_;
  const __nv_bfloat16* input_;
  int columns_, chunks_;

  // This thread's running argmax of batch rows (mi, h) (LM head).
  __device__ Best& best(int mi, int h) const {
    return reinterpret_cast<MmaScratch*>(scratch(c_.smem))->best[mi][h][threadIdx.x];
  }

  __device__ static void clear(float (&acc)[S::kMTiles][S::kTiles][2][4]) {
#pragma unroll
    for (int mi = 0; mi < S::kMTiles; ++mi)
#pragma unroll
      for (int t = 0; t < S::kTiles; ++t)
#pragma unroll
        for (int n = 0; n < 2; ++n)
#pragma unroll
          for (int i = 0; i < 4; ++i) acc[mi][t][n][i] = 0.f;
  }

  __device__ uint8_t* buffer(int index) const {
    return reinterpret_cast<uint8_t*>(activations(c_.smem)) + index * S::kBufferBytes;
  }

  // The slice after `s`; false at the end of the instruction.
  __device__ bool advance(Slice& s) const {
    const int width = (int)page_columns(columns_, s.chunk);
    if (++s.part * S::kSliceColumns < width) return true;
    s.part = 0;
    if (++s.chunk < chunks_) return true;
    s.chunk = 0;
    return ++s.group * S::kTiles < in_.tile_count;
  }

  // Issues the copies of slice `s` of the activations (all R rows) into buffer `index`.
  __device__ void stage(const Slice& s, int index) const {
    const int column = s.chunk * kPageColumns + s.part * S::kSliceColumns;
    const int width = min(S::kSliceColumns, (int)page_columns(columns_, s.chunk) - s.part * S::kSliceColumns);
    const int vectors = width / 8;
    uint8_t* dst = buffer(index);
    for (int i = threadIdx.x; i < R * vectors; i += kConsumerThreads) {
      const int row = i / vectors, v = i - row * vectors;
      // .cg: through L2 only, never the SM's L1: the input was written by other SMs in this launch.
      gemm::cp_async16(smem_address(dst + row * S::kRowBytes + v * 16), input_ + (size_t)row * columns_ + column + v * 8,
                       16);
    }
    gemm::cp_async_commit();
  }

  // This warp's 16-column steps of the slice: its kMTiles A fragments once per step, each tile's B
  // fragments (two n-tiles from one ldmatrix) once per step.
  __device__ void compute(float (&acc)[S::kMTiles][S::kTiles][2][4], const Slice& s, int index, int width,
                          int part_columns, int group_tiles) const {
    const uint32_t x =
        smem_address(buffer(index)) + (wb_ * S::kMTiles * 16 + (lane_ & 15)) * S::kRowBytes + (lane_ >> 4) * 16;
    const int b_row = (lane_ & 7) + ((lane_ >> 4) << 3);  // ldmatrix matrices: (n0, k lo), (n0, k hi), (n1, ...)
    const uint32_t pages = smem_address(c_.smem + c_.pages_offset) + b_row * width * 2;
    const int first_chunk = s.part * S::kSliceColumns / 8 + ((lane_ >> 3) & 1);
    for (int ks = wk_; ks < part_columns / 16; ks += S::kKWarps) {
      uint32_t a[S::kMTiles][4];
#pragma unroll
      for (int mi = 0; mi < S::kMTiles; ++mi) gemm::ldmatrix_x4(a[mi], x + mi * 16 * S::kRowBytes + ks * 32);
      const int chunk = swizzled_chunk(first_chunk + 2 * ks, b_row);
#pragma unroll
      for (int t = 0; t < S::kTiles; ++t) {
        if (t < group_tiles) {
          uint32_t b[4];
          gemm::ldmatrix_x4(b, pages + ((c_.page + t) % c_.pages) * kPageBytes + chunk * 16);
#pragma unroll
          for (int mi = 0; mi < S::kMTiles; ++mi) {
            gemm::mma_bf16(acc[mi][t][0], a[mi], b[0], b[1]);
            gemm::mma_bf16(acc[mi][t][1], a[mi], b[2], b[3]);
          }
        }
      }
    }
  }

  // Every warp is done with the group's pages of this chunk: one arrival per warp and page.
  __device__ void release_pages(int group_tiles) {
    Header& h = header(c_.smem);
    __syncwarp();
    if (lane_ == 0) {
      for (int t = 0; t < group_tiles; ++t) mbarrier_arrive(&h.empty[(c_.page + t) % c_.pages]);
    }
    c_.page += group_tiles;
  }

  // Adds the k-warps' sums into the first k-warp's registers, in warp order, through buffer `index`
  // (the slice every warp has just finished; the next slice lands in the other buffer).
  __device__ void sum_k_warps(float (&acc)[S::kMTiles][S::kTiles][2][4], int index) const {
    if constexpr (S::kKWarps > 1) {
      float* sums = reinterpret_cast<float*>(buffer(index));
      float* flat = &acc[0][0][0][0];
      consumer_sync();
      if (wk_ > 0) {
        float* mine = sums + ((wk_ - 1) * S::kBatchWarps + wb_) * S::kAccumulators * 32 + lane_;
#pragma unroll
        for (int i = 0; i < S::kAccumulators; ++i) mine[i * 32] = flat[i];
      }
      consumer_sync();
      if (wk_ == 0) {
        for (int k = 1; k < S::kKWarps; ++k) {
          const float* theirs = sums + ((k - 1) * S::kBatchWarps + wb_) * S::kAccumulators * 32 + lane_;
#pragma unroll
          for (int i = 0; i < S::kAccumulators; ++i) flat[i] += theirs[i * 32];
        }
      }
    }
  }

  // Epilogues of the group's finished sums: c0/c1 are batch row g, weight rows 2j and 2j + 1 of an
  // n-tile; c2/c3 the same rows of batch row g + 8.
  __device__ void finish_group(const float (&acc)[S::kMTiles][S::kTiles][2][4], int group, int group_tiles) const {
    const int count = c_.step->count;
    const int first_row = (in_.first_tile + group * S::kTiles) * kTileRows + 2 * (lane_ & 3);
#pragma unroll
    for (int mi = 0; mi < S::kMTiles; ++mi) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int b = (wb_ * S::kMTiles + mi) * 16 + (lane_ >> 2) + 8 * h;
        if (b >= count) continue;
        Best running = best(mi, h);
#pragma unroll
        for (int t = 0; t < S::kTiles; ++t) {
          if (t >= group_tiles) continue;
#pragma unroll
          for (int n = 0; n < 2; ++n) {
            epilogue_pair(c_, in_, b, first_row + t * kTileRows + n * 8, acc[mi][t][n][2 * h], acc[mi][t][n][2 * h + 1],
                          running);
          }
        }
        if (in_.op == kLmHead) best(mi, h) = running;
      }
    }
  }

  // LM head: the 4 lanes of a batch row meet (keep_better is order-free), lane 0 of each quad stores this
  // block's argmax of its row, then the last block picks the tokens.
  __device__ void publish_argmax() {
    const Model& m = *c_.m;
    if (wk_ == 0) {
#pragma unroll
      for (int mi = 0; mi < S::kMTiles; ++mi) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          Best mine = best(mi, h);
#pragma unroll
          for (int o = 1; o <= 2; o <<= 1) {
            const float value = __shfl_xor_sync(0xffffffffu, mine.value, o);
            const int index = __shfl_xor_sync(0xffffffffu, mine.index, o);
            keep_better(mine, value, index);
          }
          const int b = (wb_ * S::kMTiles + mi) * 16 + (lane_ >> 2) + 8 * h;
          if ((lane_ & 3) == 0) {
            m.lm_partial_value[in_.partial * kMaxStepRows + b] = mine.value;
            m.lm_partial_index[in_.partial * kMaxStepRows + b] = mine.index;
          }
        }
      }
    }
    pick_tokens(c_, in_);
  }
};

template <int R>
__device__ void run_mma(Context& c, const Instruction& in) {
  MmaMatvec<R>(c, in).run();
}

}  // namespace mk
