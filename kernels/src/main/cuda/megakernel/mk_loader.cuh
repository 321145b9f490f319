// The loader warp: walks its block's instruction stream ahead of the consumers and streams every weight
// page into the shared-memory ring, one bulk copy per page. It never waits on another block, only for a
// free page, so the next instruction's weights arrive while the consumers wait or compute.
#pragma once
#include "mk_sync.cuh"

namespace mk {

__device__ __forceinline__ Instruction load_instruction(const int* program, int index) {
  const int4* p = reinterpret_cast<const int4*>(program) + 4 * index;
  Instruction in;
  int4* out = reinterpret_cast<int4*>(&in);
#pragma unroll
  for (int i = 0; i < 4; ++i) out[i] = __ldg(p + i);
  return in;
}

// The tiled matrix an instruction streams and its input width (columns).
__device__ __forceinline__ const __nv_bfloat16* instruction_weights(const Instruction& in, const Model& m,
                                                                    int& columns) {
  const Layer& l = m.layer[in.op == kLmHead ? 0 : in.layer];
  switch (in.op) {
    case kQkv: columns = (int)m.hidden; return l.qkv;
    case kOProj: columns = (int)(m.heads * m.head_dim); return l.o_proj;
    case kGateUp: columns = (int)m.hidden; return l.gate_up;
    case kDown: columns = (int)m.intermediate; return l.down;
    case kLmHead: columns = (int)m.hidden; return m.lm_head;
    default: columns = 0; return nullptr;
  }
}

// Page c of tile t: 4 rows x min(2048, K - 2048c) columns, contiguous (TileLayout.java).
__device__ __forceinline__ unsigned page_columns(int columns, int chunk) {
  return (unsigned)min(kPageColumns, columns - chunk * kPageColumns);
}

__device__ void run_loader(const int* program, int first, int count, const Model& m, uint8_t* smem, int pages,
                           int pages_offset) {
  Header& h = header(smem);
  const unsigned long long policy = evict_first_policy();
  unsigned page = 0;
  bool stop = false;
  for (int i = first; i < first + count && !stop; ++i) {
    const Instruction in = load_instruction(program, i);
    if (in.op == kAttention) continue;
    int columns;
    const __nv_bfloat16* w = instruction_weights(in, m, columns);
    const int chunks = (columns + kPageColumns - 1) / kPageColumns;
    for (int t = 0; t < in.tile_count && !stop; ++t) {
      const __nv_bfloat16* tile = w + (size_t)(in.first_tile + t) * kTileRows * columns;
      for (int c = 0; c < chunks; ++c) {
        const unsigned slot = page % pages;
        const unsigned round = page / pages;
        // Consumers never hang (their waits are bounded), so this wait ends when they free the page or
        // give up; no budget of its own.
        if (!mbarrier_wait(&h.empty[slot], (round & 1) ^ 1, h, 0)) {
          stop = true;
          break;
        }
        const unsigned bytes = kTileRows * page_columns(columns, c) * 2;
        mbarrier_arrive_expect_tx(&h.full[slot], bytes);
        bulk_copy(smem + pages_offset + (size_t)slot * kPageBytes, tile + (size_t)c * kTileRows * kPageColumns, bytes,
                  &h.full[slot], policy);
        ++page;
      }
    }
  }
  // Leave no copy in flight into shared memory that is about to be released (only the abort path can
  // get here with pages nobody consumed).
  const unsigned from = page > (unsigned)pages ? page - pages : 0;
  for (unsigned p = from; p < page; ++p) {
    const long long start = clock64();
    while (!mbarrier_test_parity(&h.full[p % pages], (p / pages) & 1) && clock64() - start < (1ll << 30)) {
    }
  }
}

}  // namespace mk
