// The loader warp: walks its block's instruction stream ahead of the consumers and streams every weight
// page into the shared-memory ring, one bulk copy per page.
// It never waits on another block, only for a free page and its own copies, so the next instructions'
// weights arrive while the consumers wait or compute.
#pragma once
#include "mk_sync.cuh"

namespace mk {

__device__ __forceinline__ Instruction load_instruction(const int* program, int index) {
  const int4* p = reinterpret_cast<const int4*>(program) + kWords / 4 * index;
  Instruction in;
  int4* out = reinterpret_cast<int4*>(&in);
#pragma unroll
  for (int i = 0; i < kWords / 4; ++i) out[i] = __ldg(p + i);
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
// (tile_group), and for each group its chunks [first_chunk, first_chunk + chunk_count) in column order,
// each chunk's pages tile by tile. With groups of one tile (R <= 8) that is tile after tile, each tile's
// pages in column order.
struct PageCursor {
  const int* program;
  int next;  // next instruction to open
  int end;
  const Model* m;
  int group;
  // The block's timing records (one per instruction from the stream's first, `start`), or null: the cursor
  // zeroes the loader's word of every instruction it opens, so that run_loader can add to it.
  unsigned long long* timing = nullptr;
  int start = next;
  const __nv_bfloat16* weights = nullptr;  // tile 0 of the open instruction
  int columns = 0, first_chunk = 0, end_chunk = 0, tiles = 0;
  int group_start = 0, chunk = 0, tile = 0;  // the next page: tile group_start + tile, chunk `chunk`

  // The open instruction's loader timing word (timing on only).
  __device__ unsigned long long& ring_full_ns() const {
    return timing[(size_t)(next - 1 - start) * kTimingWords + kRingFullNs];
  }

  // The next page's source and size; false once the stream has no more (and on every later call).
  __device__ bool advance(const __nv_bfloat16*& src, unsigned& bytes) {
    while (group_start >= tiles) {
      if (next >= end) return false;
      const Instruction in = load_instruction(program, next++);
      if (timing != nullptr) ring_full_ns() = 0;
      if (in.op == kAttention || is_norm(in.op)) continue;
      weights = instruction_weights(in, *m, columns) + (size_t)in.first_tile * kTileRows * columns;
      first_chunk = in.first_chunk;
      end_chunk = in.first_chunk + in.chunk_count;
      tiles = in.tile_count;
      group_start = tile = 0;
      chunk = first_chunk;
    }
    src = weights + (size_t)(group_start + tile) * kTileRows * columns + (size_t)chunk * kTileRows * kPageColumns;
    bytes = kTileRows * page_columns(columns, chunk) * 2;
    if (++tile == min(group, tiles - group_start)) {
      tile = 0;
      if (++chunk == end_chunk) {
        chunk = first_chunk;
        group_start += group;
      }
    }
    return true;
  }
};

// Pages move into the ring as slots free up, with at most `in_flight` copies outstanding: the next copy
// waits for both a free slot and the landing of the copy `in_flight` pages back. Unlanded copies delay
// the SM's other memory operations: an instruction's release fence (mk_kernel.cuh) waited up to ~5 us
// behind a ring of page copies, while 2-3 copies per SM already keep HBM near its rate
// (docs/perf/megakernel.md). With timing on (`timing`: the block's records), the loader adds to each
// instruction's kRingFullNs the time it waited for a free page before copying that instruction's pages:
// the ring held landed pages the consumers had not taken, so the block's HBM stream stood still but for
// the last `in_flight` copies.
// While the ring is full, the loader asks L2 for the `l2_window` pages after it (0: never), so that HBM
// works while the consumers do not take pages (the QKV -> attention -> O_PROJ chain at small batches) and
// those pages' copies hit L2 later. A prefetch lands nothing in the SM, so no fence waits for it. On an
// H100 it gained at 1 and 2 rows and lost from 4 rows up, where the ring also fills while consumers compute
// (MegakernelOptions.l2PrefetchPages).
__device__ void run_loader(const int* program, int first, int count, const Model& m, uint8_t* smem, int pages,
                           int pages_offset, int in_flight, int l2_window, int group, unsigned long long* timing) {
  Header& h = header(smem);
  const unsigned long long policy = evict_first_policy();
  PageCursor copy{program, first, first + count, &m, group, timing};
  in_flight = in_flight > 0 && in_flight < pages ? in_flight : pages;  // the ring bounds it anyway
  PageCursor window{program, first, first + count, &m, group};         // a second walk of the same pages
  bool window_live = l2_window > 0;
  unsigned window_page = 0;  // pages the window's cursor has passed; those from `page` on went to L2
  unsigned page = 0;
  const __nv_bfloat16* src;
  unsigned bytes;
  // True once `bar` completed the phase of the given parity; false if the block aborted first. Consumers
  // never hang (their waits are bounded), so this ends when they free the page, it lands, or they give up.
  auto wait = [&](unsigned long long* bar, unsigned parity) {
    while (!mbarrier_test_parity(bar, parity)) {
      if (h.block_abort) return false;
    }
    return true;
  };
  while (copy.advance(src, bytes)) {
    const unsigned slot = page % pages;
    const unsigned long long wait_start = timing != nullptr ? global_timer() : 0ull;
    // Written out rather than through `wait` with an action per look: folded into one lambda that way, the
    // 2-row kernel ran 8 us slower on an H100 (code generation; megakernel-trials.json).
    bool aborted = false;
    while (!mbarrier_test_parity(&h.empty[slot], ((page / pages) & 1) ^ 1)) {
      if (h.block_abort) {
        aborted = true;
        break;
      }
      while (window_live && window_page < page + (unsigned)l2_window) {
        const __nv_bfloat16* ahead;
        unsigned ahead_bytes;
        window_live = window.advance(ahead, ahead_bytes);
        if (window_live && window_page++ >= page) prefetch_l2(ahead, ahead_bytes);
      }
    }
    if (aborted) break;
    if (timing != nullptr) copy.ring_full_ns() += global_timer() - wait_start;
    // Page `back` has not been re-armed yet (its slot's next round is page back + pages > page).
    const unsigned back = page - in_flight;
    if (page >= (unsigned)in_flight && !wait(&h.full[back % pages], (back / pages) & 1)) break;
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
