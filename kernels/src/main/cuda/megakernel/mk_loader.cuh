// The loader warp: walks its block's instruction stream ahead of the consumers and streams every weight
// page into the shared-memory ring, one bulk copy per page, and into L2 further ahead while the ring is full.
// It never waits on another block, only for a free page, so the next instructions' weights arrive while
// the consumers wait or compute.
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

// Page c of tile t: 16 rows x min(512, K - 512c) columns, contiguous (TileLayout.java).
__device__ __forceinline__ unsigned page_columns(int columns, int chunk) {
  return (unsigned)min(kPageColumns, columns - chunk * kPageColumns);
}

// Walks the weight pages of a block's stream in the order the consumers read them: instructions in stream
// order (attention and norm instructions have no pages); within one, its tiles in groups of `group`
// (tile_group), and for each group the chunks in column order, each chunk's pages tile by tile. With
// groups of one tile (R <= 8) that is tile after tile, each tile's pages in column order.
struct PageCursor {
  const int* program;
  int next;  // next instruction to open
  int end;
  const Model* m;
  int group;
  const __nv_bfloat16* weights = nullptr;  // tile 0 of the open instruction
  int columns = 0, chunks = 0, tiles = 0;
  int group_start = 0, chunk = 0, tile = 0;  // the next page: tile group_start + tile, chunk `chunk`

  // The next page's source and size; false once the stream has no more (and on every later call).
  __device__ bool advance(const __nv_bfloat16*& src, unsigned& bytes) {
    while (group_start >= tiles) {
      if (next >= end) return false;
      const Instruction in = load_instruction(program, next++);
      if (in.op == kAttention || is_norm(in.op)) continue;
      weights = instruction_weights(in, *m, columns) + (size_t)in.first_tile * kTileRows * columns;
      chunks = (columns + kPageColumns - 1) / kPageColumns;
      tiles = in.tile_count;
      group_start = chunk = tile = 0;
    }
    src = weights + (size_t)(group_start + tile) * kTileRows * columns + (size_t)chunk * kTileRows * kPageColumns;
    bytes = kTileRows * page_columns(columns, chunk) * 2;
    if (++tile == min(group, tiles - group_start)) {
      tile = 0;
      if (++chunk == chunks) {
        chunk = 0;
        group_start += group;
      }
    }
    return true;
  }
};

// Pages move into the ring as slots free up. When the consumers stop taking pages (dependency waits,
// attention), the ring fills and HBM would idle; then, and only then, the loader asks L2 for the next
// `prefetch_pages` pages, so the block has up to (pages + prefetch_pages) pages in flight or landed.
__device__ void run_loader(const int* program, int first, int count, const Model& m, uint8_t* smem, int pages,
                           int pages_offset, int prefetch_pages, int group) {
  Header& h = header(smem);
  const unsigned long long policy = evict_first_policy();
  PageCursor copy{program, first, first + count, &m, group};
  PageCursor ahead = copy;
  bool ahead_live = prefetch_pages > 0;
  unsigned page = 0;
  unsigned ahead_page = 0;  // pages the prefetch cursor has passed
  const __nv_bfloat16* src;
  unsigned bytes;
  while (copy.advance(src, bytes)) {
    const unsigned slot = page % pages;
    const unsigned parity = ((page / pages) & 1) ^ 1;
    // While the consumers hold every page of the ring (dependency waits, attention), HBM would idle: ask
    // L2 for pages [page, page + prefetch_pages) instead, one per spin, so the copies that follow hit L2.
    // Consumers never hang (their waits are bounded), so this wait ends when they free the page or give up.
    bool aborted = false;
    while (!mbarrier_test_parity(&h.empty[slot], parity)) {
      if (h.block_abort) {
        aborted = true;
        break;
      }
      if (ahead_live && ahead_page < page + (unsigned)prefetch_pages) {
        const __nv_bfloat16* ahead_src;
        unsigned ahead_bytes;
        ahead_live = ahead.advance(ahead_src, ahead_bytes);
        if (ahead_live && ahead_page++ >= page) prefetch_l2(ahead_src, ahead_bytes);
      }
    }
    if (aborted) break;
    mbarrier_arrive_expect_tx(&h.full[slot], bytes);
    bulk_copy(smem + pages_offset + (size_t)slot * kPageBytes, src, bytes, &h.full[slot], policy);
    ++page;
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
