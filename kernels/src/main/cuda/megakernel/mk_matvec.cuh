// The matvec instructions (QKV, O_PROJ, GATE_UP, DOWN, LM_HEAD) for a bucket of R <= kMaxCoreRows rows on CUDA
// cores.
//
// Inputs are staged once per instruction into shared memory as bf16 [R][K] (for QKV, GATE_UP and
// LM_HEAD the RMSNorm is computed while staging, as layer_rmsnorm does: bf16(w * (x * inv_rms))). O_PROJ and
// DOWN add their outputs to the fp32 residual; in the 1-row bucket the residual comes and goes in flagged words
// instead (mk_flagged.cuh): O_PROJ and DOWN store x + v, the residual before them plus their output, and its
// readers settle them.
// Then each tile's pages arrive from the ring; consumer warp w owns rows 2w and 2w + 1 of every tile
// (mk_common.cuh), accumulates them over all of the tile's pages in fp32 and reduces them with shuffles
// in a fixed order (deterministic). The warp runs the pair's epilogue itself, so no tile ends in a
// block barrier and the warps drift apart by up to the ring's depth; only the LM head's argmax meets
// once per instruction.
#pragma once
#include "mk_flagged.cuh"
#include "mk_loader.cuh"

namespace mk {

// Everything a consumer needs about the current launch.
struct Context {
  const Model* m;
  const Step* step;
  uint8_t* smem;
  int pages;
  int pages_offset;
  unsigned epoch;
  unsigned* counters;
  Output* out;
  Watchdog watchdog;
  unsigned page;  // next page of the ring this block's consumers read
  unsigned long long* timing;  // this instruction's timing record: thread 0 only, null when off
  ActivationLayout layout;     // of the matvec inputs (normed, attention, mlp) in this bucket
  unsigned staged;             // activation slices staged so far in this launch (tensor-core buckets)
  bool keep_logits;            // Step.keep_logits
};

__device__ __forceinline__ void record_time(const Context& c, int word) {
  if (c.timing != nullptr) c.timing[word] = global_timer();
}

// Now, when timing is on (0 otherwise, without reading the timer).
__device__ __forceinline__ unsigned long long timing_now(const Context& c) {
  return c.timing != nullptr ? global_timer() : 0ull;
}

// One halving of warp_reduce_scatter with Count live values: lanes with bit o set keep the upper half.
template <int N, int Count>
__device__ __forceinline__ void halve(float (&v)[N], int lane) {
  if constexpr (Count > 1) {
    constexpr int half = Count / 2;
    constexpr int o = 16 * Count / N;
    const bool upper = (lane & o) != 0;
#pragma unroll
    for (int i = 0; i < half; ++i) {
      const float send = upper ? v[i] : v[i + half];
      const float keep = upper ? v[i + half] : v[i];
      v[i] = keep + __shfl_xor_sync(0xffffffffu, send, o);
    }
    halve<N, half>(v, lane);
  }
}

// Sums v[0..N) over the warp; lane l ends up with the total of value l / (32 / N). Halving the array at
// each exchange costs N - 1 shuffles instead of 5N.
template <int N>
__device__ __forceinline__ float warp_reduce_scatter(float (&v)[N], int lane) {
  static_assert(N >= 1 && N <= 32 && (N & (N - 1)) == 0, "a power of two up to 32");
  halve<N, N>(v, lane);
#pragma unroll
  for (int o = 16 / N; o > 0; o >>= 1) v[0] += __shfl_xor_sync(0xffffffffu, v[0], o);
  return v[0];
}

__device__ __forceinline__ float silu(float x) { return x / (1.0f + expf(-x)); }

__device__ __forceinline__ float4 bf16x4_to_float4(uint2 raw) {
  const float2 lo = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.x));
  const float2 hi = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.y));
  return make_float4(lo.x, lo.y, hi.x, hi.y);
}

// Elements 4k4..4k4+3 of a staged row: bf16(w * (x * inv_rms)) as layer_rmsnorm, or zeros for a padded row.
__device__ __forceinline__ void store_normed(__nv_bfloat16* row, int k4, float4 v, uint2 weight, float inv,
                                             bool live) {
  __nv_bfloat162 lo = __floats2bfloat162_rn(0.f, 0.f), hi = lo;
  if (live) {
    const float4 w = bf16x4_to_float4(weight);
    lo = __floats2bfloat162_rn(w.x * (v.x * inv), w.y * (v.y * inv));
    hi = __floats2bfloat162_rn(w.z * (v.z * inv), w.w * (v.w * inv));
  }
  __nv_bfloat162* out = reinterpret_cast<__nv_bfloat162*>(row);
  out[2 * k4] = lo;
  out[2 * k4 + 1] = hi;
}

// Float4s per thread and row that the RMSNorm keeps in registers between its two passes (the rest are
// loaded twice): for 1 or 2 rows all of them up to hidden = 4 * 256 * 2 = 2048; 4 and 8 rows keep one,
// since two spill registers (ptxas caps the kernel at 168).
template <int R>
constexpr int kKeptVectors = R <= 2 ? 2 : 1;

// The 1-row bucket's flagged residual: vectors k4_of(j) (four elements) of every row b < R, j < J, from the words at
// `flagged` (row b at b * hidden), two pairs of words each, all asked for before any is settled. Rows past the
// step's count and vectors past the end are zeros.
template <int R, int J, typename K4>
__device__ __forceinline__ void load_flagged_rows(Context& c, const unsigned long long* flagged, K4 k4_of,
                                                  float4 (&out)[R][J]) {
  const Model& m = *c.m;
  const int K = (int)m.hidden, V = K / 4, count = c.step->count;
  ulonglong2 look[R * J * 2];  // pair i: row i / 2J, vector (i / 2) % J, its words 2 (i % 2) and 2 (i % 2) + 1
  auto address = [&](int i) { return flagged + (size_t)(i / (2 * J)) * K + 4 * k4_of(i / 2 % J) + 2 * (i & 1); };
#pragma unroll
  for (int i = 0; i < R * J * 2; ++i) {
    look[i] = i / (2 * J) < count && k4_of(i / 2 % J) < V ? load_flagged2(address(i)) : tagged_zeros(c.watchdog.tag);
  }
  settle(look, address, c.watchdog, header(c.smem), m.flagged_residual);
#pragma unroll
  for (int b = 0; b < R; ++b)
#pragma unroll
    for (int j = 0; j < J; ++j) out[b][j] = flagged_float4(look[2 * (b * J + j)], look[2 * (b * J + j) + 1]);
}

// RMSNorm of rows 0..R-1 (fp32 residual, or in layer 0 the bf16 embedding rows of the tokens) into
// bf16 shared memory; rows past the step's count become zeros. Each thread sums its squares in the
// order layer_rmsnorm does (k4 = tid, tid + 256, ...) and the warps in the same order, so inv_rms is
// the graph path's to the bit. The kept inputs and weights are loaded together: one trip to L2. In the
// 1-row bucket the residual is read from the flagged words at `flagged` (mk_flagged.cuh).
template <int R>
__device__ void stage_normed(Context& c, const __nv_bfloat16* weight, bool from_embedding,
                             const unsigned long long* flagged) {
  const Model& m = *c.m;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int K = (int)m.hidden, V = K / 4;
  const int count = c.step->count;
  const int* tokens = step_tokens(c.step);
  MatvecScratch& s = *reinterpret_cast<MatvecScratch*>(scratch(c.smem));
  Header& h = header(c.smem);
  __nv_bfloat16* act = activations(c.smem);
  const uint2* w4 = reinterpret_cast<const uint2*>(weight);
  constexpr int kKept = kKeptVectors<R>;

  auto load4 = [&](int b, int k4) -> float4 {
    if (from_embedding) {
      return bf16x4_to_float4(__ldg(reinterpret_cast<const uint2*>(m.embedding + (size_t)tokens[b] * K) + k4));
    }
    if constexpr (kFlaggedResidual<R>) {  // the kept vectors are settled, so these came with them or soon after
      float4 v[R][1];
      load_flagged_rows<R, 1>(c, flagged, [&](int) { return k4; }, v);
      return v[b][0];
    }
    return __ldcg(reinterpret_cast<const float4*>(m.residual + (size_t)b * K) + k4);
  };
  auto add_squares = [](float& sum, float4 v) { sum += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w; };

  float4 kept[R][kKept];
  uint2 kept_weight[kKept];
#pragma unroll
  for (int j = 0; j < kKept; ++j) {
    const int k4 = tid + j * kConsumerThreads;
    kept_weight[j] = k4 < V ? __ldg(w4 + k4) : make_uint2(0, 0);
    if (kFlaggedResidual<R> && !from_embedding) continue;  // below, all together
#pragma unroll
    for (int b = 0; b < R; ++b) kept[b][j] = b < count && k4 < V ? load4(b, k4) : make_float4(0.f, 0.f, 0.f, 0.f);
  }
  if constexpr (kFlaggedResidual<R>) {
    if (!from_embedding) {
      load_flagged_rows<R, kKept>(c, flagged, [&](int j) { return tid + j * kConsumerThreads; }, kept);
    }
  }
  float squares[R];
#pragma unroll
  for (int b = 0; b < R; ++b) {
    squares[b] = 0.f;  // adding the zeros of missing elements leaves the sum as it was
#pragma unroll
    for (int j = 0; j < kKept; ++j) add_squares(squares[b], kept[b][j]);
    if (b < count) {
      for (int k4 = tid + kKept * kConsumerThreads; k4 < V; k4 += kConsumerThreads) {
        add_squares(squares[b], load4(b, k4));
      }
    }
  }
#pragma unroll
  for (int b = 0; b < R; ++b) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) squares[b] += __shfl_xor_sync(0xffffffffu, squares[b], o);
    if (lane == 0) s.sums[warp][b] = squares[b];
  }
  consumer_sync();
  if (tid < R) {
    float total = 0.f;
#pragma unroll
    for (int w = 0; w < kConsumerWarps; ++w) total += s.sums[w][tid];
    h.inv_rms[tid] = rsqrtf(total / K + (float)m.eps);
  }
  consumer_sync();
#pragma unroll
  for (int b = 0; b < R; ++b) {
    const float inv = h.inv_rms[b];
    __nv_bfloat16* row = act + (size_t)b * K;
    const bool live = b < count;
#pragma unroll
    for (int j = 0; j < kKept; ++j) {
      const int k4 = tid + j * kConsumerThreads;
      if (k4 < V) store_normed(row, k4, kept[b][j], kept_weight[j], inv, live);
    }
    for (int k4 = tid + kKept * kConsumerThreads; k4 < V; k4 += kConsumerThreads) {
      store_normed(row, k4, live ? load4(b, k4) : make_float4(0.f, 0.f, 0.f, 0.f), __ldg(w4 + k4), inv, live);
    }
  }
  consumer_sync();
}

// Copies bf16 rows [R][K] written earlier in this launch (attention output, SiLU output) into shared memory.
template <int R>
__device__ void stage_copy(Context& c, const __nv_bfloat16* src, int K) {
  const int count = c.step->count;
  uint4* act = reinterpret_cast<uint4*>(activations(c.smem));
  const int vectors = K / 8;
  for (int i = threadIdx.x; i < R * vectors; i += kConsumerThreads) {
    const int b = i / vectors;
    act[i] = b < count ? __ldcg(reinterpret_cast<const uint4*>(src + (size_t)b * K) + (i - b * vectors))
                       : make_uint4(0, 0, 0, 0);
  }
  consumer_sync();
}

// Running argmax of one batch row over an LM-head instruction's tiles.
struct Best {
  float value;
  int index;
};

// The larger value, the lower index on ties: the first maximum in vocabulary order whatever the order
// the candidates meet in.
__device__ __forceinline__ void keep_better(Best& best, float value, int index) {
  if (value > best.value || (value == best.value && index < best.index)) {
    best.value = value;
    best.index = index;
  }
}

// Where row `row` of the tiled q/k/v matrix goes for batch row b. The tiled rows run by KV group g: its
// query heads, its key head, its value head (TileLayout.qkvSourceRow); in query and key heads rows 2i and
// 2i + 1 are the RoPE pair of dims i and i + D/2, value heads keep their order.
struct QkvDestination {
  __nv_bfloat16* head;  // dim 0 of the head's output: a query row, or the cache's key or value at this step
  int rr;               // the row within the head
  bool rotate;          // a query or key head
};

// What a tiled row's destination takes from the row alone (the divisions by run-time head sizes), so that an
// epilogue storing one row for many batch rows works it out once: a query head, or KV group g's key or value head.
struct QkvRow {
  enum Kind : int { kQuery, kKey, kValue } kind;
  int head;  // the query head, or the KV group
  int rr;    // the row within the head
};

__device__ __forceinline__ QkvRow qkv_row(const Model& m, int row) {
  const int D = (int)m.head_dim, G = (int)m.heads / (int)m.kv_heads;
  const int group_rows = (G + 2) * D;
  const int g = row / group_rows, o = row % group_rows, hh = o / D, rr = o % D;
  if (hh < G) return {QkvRow::kQuery, g * G + hh, rr};
  return {hh == G ? QkvRow::kKey : QkvRow::kValue, g, rr};
}

__device__ __forceinline__ QkvDestination qkv_destination(const Model& m, const Step& step, int layer, int b,
                                                          const QkvRow& r) {
  const int D = (int)m.head_dim;
  if (r.kind == QkvRow::kQuery) return {m.query + ((size_t)b * m.heads + r.head) * D, r.rr, true};
  const size_t cache =
      (size_t)step.slots[b] * (m.slot_stride_bytes / 2) + (size_t)step.positions[b] * m.kv_heads * D + r.head * D;
  const Layer& l = m.layer[layer];
  return r.kind == QkvRow::kKey ? QkvDestination{l.k_cache + cache, r.rr, true}
                                : QkvDestination{l.v_cache + cache, r.rr, false};
}

// The flagged word of the residual element that an O_PROJ or DOWN value (batch row b, hidden row `row`) adds to:
// the layer's residual before it; null for layer 0's O_PROJ, which adds to the embedding.
__device__ __forceinline__ const unsigned long long* residual_before(const Model& m, const Instruction& in, int b,
                                                                     int row) {
  if (in.op == kOProj && in.layer == 0) return nullptr;
  return in.op == kOProj ? flagged_residual(m, in.layer - 1, kAfterMlp, b) + row
                         : flagged_residual(m, in.layer, kAfterAttention, b) + row;
}

// A first look at that word, asked for when the tile starts so that its trip to L2 passes while the pages are
// summed; only the look stays live through the tile. Layer 0's O_PROJ: the embedding, flagged with this launch's
// tag.
template <int R>
__device__ __forceinline__ unsigned long long look_before(const Context& c, const Instruction& in, int lane,
                                                          int first_row) {
  const Model& m = *c.m;
  constexpr int kLanesPerValue = 32 / (kWarpRows * R);  // as the epilogue
  const int i = lane / kLanesPerValue;
  const int b = i % R, row = first_row + i / R;
  if (lane % kLanesPerValue != 0 || b >= c.step->count || row >= m.hidden) return 0;
  const unsigned long long* word = residual_before(m, in, b, row);
  if (word != nullptr) return load_flagged(word);
  const float x = __bfloat162float(__ldg(m.embedding + (size_t)step_tokens(c.step)[b] * m.hidden + row));
  return flag(__float_as_uint(x), c.watchdog.tag);
}

// One warp's finished values of a tile, after warp_reduce_scatter of its [kWarpRows][R] sums: the 32 / N
// lanes of value i = r * R + b hold row `first_row + r`, batch row b, and the first of them stores it.
// Row r ^ 1 of the same batch row sits 16 lanes away. All lanes of the warp call it.
template <int R>
__device__ __forceinline__ void epilogue(Context& c, const Instruction& in, int lane, float v, int first_row,
                                         unsigned long long before, Best& best) {
  static_assert(kWarpRows == 2, "the epilogues pair rows r and r ^ 1 across lane ^ 16");
  const Model& m = *c.m;
  constexpr int kLanesPerValue = 32 / (kWarpRows * R);
  const int i = lane / kLanesPerValue;
  const int r = i / R;
  const int b = i % R;
  const int row = first_row + r;
  const float partner = __shfl_xor_sync(0xffffffffu, v, 16);  // row r ^ 1, same batch row
  const bool valid = lane % kLanesPerValue == 0 && b < c.step->count;
  switch (in.op) {
    case kQkv: {
      if (!valid) return;
      const QkvDestination d = qkv_destination(m, *c.step, in.layer, b, qkv_row(m, row));
      if (!d.rotate) {
        d.head[d.rr] = __float2bfloat16_rn(v);
        return;
      }
      // Rows 2i and 2i + 1 hold dims i and i + D/2 of the head: one warp's pair.
      const int half = d.rr >> 1;
      const bool first = (d.rr & 1) == 0;
      const float x0 = first ? v : partner, x1 = first ? partner : v;
      const MatvecScratch& s = *reinterpret_cast<const MatvecScratch*>(scratch(c.smem));
      const float cs = s.rope_cos[b][half], sn = s.rope_sin[b][half];
      const __nv_bfloat16 rotated = __float2bfloat16_rn(first ? x0 * cs - x1 * sn : x1 * cs + x0 * sn);
      d.head[first ? half : half + (int)m.head_dim / 2] = rotated;
      return;
    }
    case kOProj:
    case kDown: {
      if (!valid || row >= m.hidden) return;
      if constexpr (kFlaggedResidual<R>) {
        // x + v, the graph path's residual addition, as the layer's residual after attention or after the MLP.
        const unsigned long long x =
            await_flagged(residual_before(m, in, b, row), before, c.watchdog, header(c.smem), m.flagged_residual);
        store_flagged(flagged_residual(m, in.layer, in.op == kOProj ? kAfterAttention : kAfterMlp, b) + row,
                      __float_as_uint(__uint_as_float((unsigned)x) + v), c.watchdog.tag);
      } else {
        // One addition per element and phase, so the sum is the plain x + v, deterministic; the reduction
        // needs no load, so the epilogue never waits for a round trip to L2.
        atomicAdd(m.residual + (size_t)b * m.hidden + row, v);
      }
      return;
    }
    case kGateUp: {
      if (valid && r == 0) {  // gate j in row 2j, up j in row 2j + 1 (the CUDA backend's interleaving)
        m.mlp[(size_t)b * m.intermediate + row / 2] = __float2bfloat16_rn(silu(v) * partner);
      }
      return;
    }
    case kLmHead: {
      const bool real = valid && row < m.vocab;
      if (real && c.keep_logits) m.logits[(size_t)b * m.vocab + row] = v;
      float value = real ? v : -INFINITY;
      int index = real ? row : 0x7fffffff;
      const float other_value = __shfl_xor_sync(0xffffffffu, value, 16);
      const int other_index = __shfl_xor_sync(0xffffffffu, index, 16);
      if (r == 0) {  // the lanes of row 0 keep the pair's better one
        keep_better(best, value, index);
        keep_better(best, other_value, other_index);
      }
      return;
    }
  }
}

// QKV: the cos and sin of every row's position into shared memory, so that no epilogue waits for them.
// The loads are issued here and stored by finish_rope after the RMSNorm staging, which hides their latency.
struct RopeLoads {
  static constexpr int kPerThread = kMaxCoreRows * kMaxHalfDim / kConsumerThreads;
  float cos[kPerThread], sin[kPerThread];
};

template <int R>
__device__ __forceinline__ RopeLoads start_rope(const Context& c) {
  const Model& m = *c.m;
  const int half = (int)(m.head_dim / 2);
  RopeLoads r;
#pragma unroll
  for (int j = 0; j < RopeLoads::kPerThread; ++j) {
    const int e = threadIdx.x + j * kConsumerThreads, b = e / half, i = e % half;
    const bool live = b < R && b < c.step->count;
    const size_t angle = live ? (size_t)c.step->positions[b] * half + i : 0;
    r.cos[j] = live ? __ldg(m.rope_cos + angle) : 0.f;
    r.sin[j] = live ? __ldg(m.rope_sin + angle) : 0.f;
  }
  return r;
}

template <int R>
__device__ __forceinline__ void finish_rope(const Context& c, const RopeLoads& r) {
  const int half = (int)(c.m->head_dim / 2);
  MatvecScratch& s = *reinterpret_cast<MatvecScratch*>(scratch(c.smem));
#pragma unroll
  for (int j = 0; j < RopeLoads::kPerThread; ++j) {
    const int e = threadIdx.x + j * kConsumerThreads, b = e / half, i = e % half;
    if (b < R) {
      s.rope_cos[b][i] = r.cos[j];
      s.rope_sin[b][i] = r.sin[j];
    }
  }
  consumer_sync();
}

// Layer 0's QKV instructions write the embedding rows into the fp32 residual that the O_PROJ and DOWN
// epilogues add to (buckets without flagged words): the instruction of tiles [first, first + count) of T writes
// hidden elements [first * H / T, (first + count) * H / T), so together they write each element once. Every QKV
// instruction finishes before any O_PROJ starts (O_PROJ waits for all attention, attention for its group's QKV),
// so the residual holds the embedding before the first addition.
__device__ void seed_residual(const Context& c, const Instruction& in) {
  const Model& m = *c.m;
  const long long H = m.hidden;
  const long long T = (m.heads + 2 * m.kv_heads) * m.head_dim / kTileRows;
  const int lo = (int)(in.first_tile * H / T), hi = (int)((in.first_tile + in.tile_count) * H / T);
  const int* tokens = step_tokens(c.step);
  for (int b = 0; b < c.step->count; ++b) {
    const __nv_bfloat16* e = m.embedding + (size_t)tokens[b] * H;
    for (int k = lo + threadIdx.x; k < hi; k += kConsumerThreads) {
      m.residual[(size_t)b * H + k] = __bfloat162float(__ldg(e + k));
    }
  }
}

// Waits until ring page `page` has landed; returns the ns waited when timing is on. A page that never
// lands (a loader fault) is recorded; the block then runs on and exits at the next instruction boundary,
// where every consumer sees block_abort.
__device__ __forceinline__ unsigned long long wait_slot(Context& c, unsigned slot, unsigned parity, unsigned page) {
  Header& h = header(c.smem);
  const unsigned long long start = timing_now(c);
  if (!mbarrier_wait(&h.full[slot], parity, h, c.watchdog.budget) && !h.block_abort) {
    c.watchdog.fail(kPageFullTimeout, -1, (int)slot, page, 0);
    h.block_abort = 1;
  }
  return timing_now(c) - start;
}

// Where the consumers are in the page ring: slot and round parity of page c.page, moved on without a
// division per page (the ring size is not a compile-time constant).
struct RingPosition {
  unsigned slot, parity;

  __device__ explicit RingPosition(const Context& c) : slot(c.page % c.pages), parity((c.page / c.pages) & 1) {}
  __device__ RingPosition(unsigned slot, unsigned parity) : slot(slot), parity(parity) {}

  // The position t pages on (t <= pages).
  __device__ RingPosition plus(int t, int pages) const {
    const unsigned s = slot + t;
    return s >= (unsigned)pages ? RingPosition(s - pages, parity ^ 1) : RingPosition(s, parity);
  }

  __device__ void advance(Context& c) {
    ++c.page;
    if (++slot == (unsigned)c.pages) {
      slot = 0;
      parity ^= 1;
    }
  }
};

// One warp's rows of one ring page against the staged rows: acc[r][b] += w[r][k] * x[b][k] over the lane's
// 16-byte chunk of each 256-column step, k in order (the graph matvec's order). A whole page (512 columns)
// issues every shared-memory load before the arithmetic; a narrower last page checks each step.
template <int R>
__device__ __forceinline__ void page_products(const __nv_bfloat16* act, int columns, int column0, const uint8_t* page,
                                              int width, int warp, int lane, float (&acc)[kWarpRows][R]) {
  constexpr int kSteps = kPageColumns / kStepColumns;
  auto step_products = [&](const uint4 (&xv)[R], const uint4 (&wv)[kWarpRows]) {
    float x[R][8];
#pragma unroll
    for (int b = 0; b < R; ++b) bf16x8_to_float(xv[b], x[b]);
#pragma unroll
    for (int r = 0; r < kWarpRows; ++r) {
      float w[8];
      bf16x8_to_float(wv[r], w);
#pragma unroll
      for (int b = 0; b < R; ++b)
#pragma unroll
        for (int k = 0; k < 8; ++k) acc[r][b] = fmaf(w[k], x[b][k], acc[r][b]);
    }
  };
  auto load_step = [&](int step, uint4 (&xv)[R], uint4 (&wv)[kWarpRows]) {
    const int column = step * kStepColumns + lane * 8;
#pragma unroll
    for (int b = 0; b < R; ++b) {
      xv[b] = *reinterpret_cast<const uint4*>(act + (size_t)b * columns + column0 + column);
    }
#pragma unroll
    for (int r = 0; r < kWarpRows; ++r) {
      wv[r] = *reinterpret_cast<const uint4*>(page + page_offset(warp * kWarpRows + r, column));
    }
  };
  if (width == kPageColumns) {
    uint4 xv[kSteps][R], wv[kSteps][kWarpRows];
#pragma unroll
    for (int step = 0; step < kSteps; ++step) load_step(step, xv[step], wv[step]);
#pragma unroll
    for (int step = 0; step < kSteps; ++step) step_products(xv[step], wv[step]);
    return;
  }
#pragma unroll
  for (int step = 0; step < kSteps; ++step) {
    if (step * kStepColumns + lane * 8 < width) {
      uint4 xv[R], wv[kWarpRows];
      load_step(step, xv, wv);
      step_products(xv, wv);
    }
  }
}

// LM head, after this block stored its argmax of every batch row in its partial slot: the block arrives,
// and the last LM-head block to arrive picks the token of each row that takes its argmax (greedy rows).
__device__ void pick_tokens(Context& c, const Instruction& in) {
  const Model& m = *c.m;
  Header& h = header(c.smem);
  const int tid = threadIdx.x;
  consumer_sync();
  if (tid == 0) {  // release of the whole block's partials (mk_sync.cuh)
    __threadfence();
    const unsigned old = add_acq_rel(c.counters + in.arrive, 1);
    h.last_arrival = old == c.epoch * (unsigned)in.arrive_count + (unsigned)in.arrive_count - 1;
  }
  consumer_sync();
  if (!h.last_arrival) return;
  // Warp w picks rows w, w + 8, ...: lane l meets blocks l, l + 32, ... (one L2 round trip for all of them,
  // where one thread per row walking every block waited on each in turn), then the lanes meet. Blocks hold
  // their first maximum and run in vocabulary order, so keep_better keeps the row's first maximum; a row with
  // no value above -inf takes token 0.
  const int warp = tid >> 5, lane = tid & 31;
  for (int b = warp; b < c.step->count; b += kConsumerWarps) {
    if (row_samples(c.step, b)) continue;  // its SAMPLE instruction draws the token
    Best best{-INFINITY, 0x7fffffff};
    for (int p = lane; p < in.arrive_count; p += 32) {
      keep_better(best, __ldcg(m.lm_partial_value + p * kMaxStepRows + b),
                  __ldcg(m.lm_partial_index + p * kMaxStepRows + b));
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      const float value = __shfl_xor_sync(0xffffffffu, best.value, o);
      const int index = __shfl_xor_sync(0xffffffffu, best.index, o);
      keep_better(best, value, index);
    }
    if (lane == 0) c.out->sampled[b] = best.value > -INFINITY ? best.index : 0;
  }
}

// Runs a matvec instruction: stage inputs, then every tile's pages, reductions and epilogues. A row's sum runs
// in the CUDA-graph path's order (gemm.cuh's matvec), so the two agree to the bit: lane l takes 16-byte
// chunks l, l + 32, ... of each of the instruction's K parts (in.splits, whole pages each: StreamBuilder),
// the warp sums each part with the same butterfly, and the parts add up in order.
template <int R>
__device__ void run_matvec(Context& c, const Instruction& in) {
  const Model& m = *c.m;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  Header& h = header(c.smem);
  const Layer& layer = m.layer[in.op == kLmHead ? 0 : in.layer];
  switch (in.op) {
    case kQkv: {
      const RopeLoads rope = start_rope<R>(c);
      if constexpr (!kFlaggedResidual<R>) {
        if (in.layer == 0) seed_residual(c, in);
      }
      stage_normed<R>(c, layer.attn_norm, in.layer == 0,
                      in.layer == 0 ? nullptr : flagged_residual(m, in.layer - 1, kAfterMlp, 0));
      finish_rope<R>(c, rope);
      break;
    }
    case kGateUp:
      stage_normed<R>(c, layer.mlp_norm, false, flagged_residual(m, in.layer, kAfterAttention, 0));
      break;
    case kLmHead:
      stage_normed<R>(c, m.final_norm, false, flagged_residual(m, (int)m.layers - 1, kAfterMlp, 0));
      break;
    case kOProj: stage_copy<R>(c, m.attention, (int)(m.heads * m.head_dim)); break;
    case kDown: stage_copy<R>(c, m.mlp, (int)m.intermediate); break;
  }
  record_time(c, kTimeStaged);
  unsigned long long page_wait_ns = 0, epilogue_ns = 0;  // thread 0's sums when timing is on
  int columns;
  instruction_weights(in, m, columns);
  const int chunks = (columns + kPageColumns - 1) / kPageColumns;
  const int part_pages = chunks / in.splits;
  const __nv_bfloat16* act = activations(c.smem);
  constexpr int N = kWarpRows * R;
  Best best{-INFINITY, 0x7fffffff};

  RingPosition ring(c);
  for (int t = 0; t < in.tile_count; ++t) {
    // The tile's first row is written out at each use: kept in a variable, its load moved before the page loop in
    // the 2- and 4-row kernels too, whose code otherwise stays that of the buckets without flagged words.
    unsigned long long before = 0;  // flagged buckets' O_PROJ and DOWN: a first look at the residual they add to
    if constexpr (kFlaggedResidual<R>) {
      if (in.op == kOProj || in.op == kDown) {
        before = look_before<R>(c, in, lane, (in.first_tile + t) * kTileRows + warp * kWarpRows);
      }
    }
    float total = 0.f;  // this lane's value (warp_reduce_scatter) summed over the parts so far
    for (int part = 0, ch = 0; part < in.splits; ++part) {
      float acc[kWarpRows][R];
#pragma unroll
      for (int r = 0; r < kWarpRows; ++r)
#pragma unroll
        for (int b = 0; b < R; ++b) acc[r][b] = 0.f;
      for (const int part_end = ch + part_pages; ch < part_end; ++ch) {
        page_wait_ns += wait_slot(c, ring.slot, ring.parity, c.page);
        const int width = (int)page_columns(columns, ch);
        const uint8_t* page = c.smem + c.pages_offset + (size_t)ring.slot * kPageBytes;
        page_products<R>(act, columns, ch * kPageColumns, page, width, warp, lane, acc);
        mbarrier_arrive(&h.empty[ring.slot]);
        ring.advance(c);
      }
      float flat[N];
#pragma unroll
      for (int r = 0; r < kWarpRows; ++r)
#pragma unroll
        for (int b = 0; b < R; ++b) flat[r * R + b] = acc[r][b];
      const float sum = warp_reduce_scatter<N>(flat, lane);
      total = part == 0 ? sum : total + sum;
    }
    const unsigned long long epilogue_start = timing_now(c);
    epilogue<R>(c, in, lane, total, (in.first_tile + t) * kTileRows + warp * kWarpRows, before, best);
    epilogue_ns += timing_now(c) - epilogue_start;
  }
  if (c.timing != nullptr) {
    c.timing[kPageWaitNs] = page_wait_ns;
    c.timing[kEpilogueNs] = epilogue_ns;
  }
  record_time(c, kTimeComputed);

  if (in.op != kLmHead) return;
  // The warps' argmaxes meet (the lane of row 0, batch row b holds warp's best for b); then this block's
  // is published, and the last LM-head block to arrive picks each row's token.
  MatvecScratch& s = *reinterpret_cast<MatvecScratch*>(scratch(c.smem));
  constexpr int kLanesPerValue = 32 / N;
  if (lane % kLanesPerValue == 0 && lane / kLanesPerValue < R) {
    s.best_value[warp][lane / kLanesPerValue] = best.value;
    s.best_index[warp][lane / kLanesPerValue] = best.index;
  }
  consumer_sync();
  if (tid < R) {
    Best block{-INFINITY, 0x7fffffff};
#pragma unroll
    for (int w = 0; w < kConsumerWarps; ++w) keep_better(block, s.best_value[w][tid], s.best_index[w][tid]);
    m.lm_partial_value[in.partial * kMaxStepRows + tid] = block.value;
    m.lm_partial_index[in.partial * kMaxStepRows + tid] = block.index;
  }
  pick_tokens(c, in);
}

}  // namespace mk
