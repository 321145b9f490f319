// The ATTENTION instruction: a run of context splits of up to 4 query heads of one batch row, flash-decoding
// style (as attention.cuh's attn_decode, which the CUDA backend runs): each split writes its partial softmax
// state, and the last instruction of (row, head chunk) to arrive merges all of them in split order.
//
// K and V of this step's position were appended by QKV instructions of this launch on other SMs, so
// every cache and query read is ld.global.cg (see mk_sync.cuh); positions past the row's length may be
// unmapped pages and are never touched.
#pragma once
#include "mk_attention_mma.cuh"
#include "mk_matvec.cuh"

namespace mk {

// The context splits and the key order within a split are the CUDA-graph path's (attn_decode), so the two
// agree to the bit: its block is 4 warps over one split of up to 4 query heads, so warps 0-3 and 4-7 here
// are two such blocks, each taking every other split of the instruction's run. The exception: buckets that
// stage attention's keys fold heads of up to 64 dims on tensor cores (mk_attention_mma.cuh), in another
// order.
constexpr int kHalfWarps = attn::Decode::kWarps;
constexpr int kHalfThreads = kHalfWarps * 32;
static_assert(kConsumerWarps == 2 * kHalfWarps && kMaxHeads == attn::Decode::kHeads, "two decode blocks");

// Staged attention: the K/V pieces of two key steps per thread, double-buffered in the activation area (the
// tensor-core fold's per-warp staging fits the same bytes).
constexpr int kAttentionStageBytes = 2 * attn::Decode::kUnroll * 2 * 16 * kConsumerThreads;

// Whether bucket R stages attention's keys: where the matvecs' activation buffers, idle during attention,
// hold kAttentionStageBytes (tensor-core buckets of 32 rows and more: their many attention instructions of
// a whole context each waited on one step's loads at a time, ~12 GB/s per SM on an H100 at 64 rows).
template <int R>
__host__ __device__ constexpr bool staged_attention() {
  return R > kMaxCoreRows && kActivationStages * R * stage_columns(R) * 2 >= kAttentionStageBytes;
}

// decode_key_range's steps in its order and arithmetic, with the next step's K/V pieces copied into shared
// memory (cp.async through L2, 16 bytes per lane and key) while this step computes, so two steps' loads are
// in flight rather than one. Each thread reads back only its own copies: no barrier.
template <int U, int H, int LPK, int KPS>
__device__ void staged_key_range(const float (&q)[H][8], const char* k_base, const char* v_base, size_t key_bytes,
                                 int begin, int end, int first, float (&m)[H], float (&l)[H], float (&acc)[H][8],
                                 uint8_t* smem) {
  static_assert(2 * U * 2 * 16 * kConsumerThreads == kAttentionStageBytes, "two steps of K and V per thread");
  // [buffer][u][K or V] slots of 16 bytes, consecutive threads' slots adjacent (conflict-free).
  uint4* const stage = reinterpret_cast<uint4*>(activations(smem)) + threadIdx.x;
  auto slot = [&](int buffer, int u, int kv) { return stage + ((buffer * U + u) * 2 + kv) * kConsumerThreads; };
  auto issue = [&](int base, int buffer) {
#pragma unroll
    for (int u = 0; u < U; ++u) {
      bool valid;
      const size_t off = (size_t)attn::step_key<KPS>(base, u, first, end, valid) * key_bytes;
      attn::cp_async16(attn::smem_addr(slot(buffer, u, 0)), k_base + off, true);
      attn::cp_async16(attn::smem_addr(slot(buffer, u, 1)), v_base + off, true);
    }
    attn::cp_async_commit();
  };
  attn::clear_state<H>(m, l, acc);
  constexpr int kStep = U * KPS;
  if (begin < end) issue(begin, 0);
  int buffer = 0;
  for (int base = begin; base < end; base += kStep, buffer ^= 1) {
    if (base + kStep < end) {
      issue(base + kStep, buffer ^ 1);
      attn::cp_async_wait<1>();
    } else {
      attn::cp_async_wait<0>();
    }
    uint4 kr[U], vr[U];
    bool valid[U];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      attn::step_key<KPS>(base, u, first, end, valid[u]);
      kr[u] = *slot(buffer, u, 0);
      vr[u] = *slot(buffer, u, 1);
    }
    attn::decode_keys<U, H, LPK>(q, kr, vr, valid, m, l, acc);
  }
  proxy_fence_shared();  // the next matvec's bulk copies write these bytes
  attn::merge_lane_groups<H, LPK>(m, l, acc);
}

// log2(e) / sqrt(D) rounded once from double, as AttentionKernels computes it on the host.
template <int D>
__device__ __forceinline__ float score_scale() {
  return (float)(1.4426950408889634 / sqrt((double)D));
}

// This warp's share of keys [begin, end) of batch row b on tensor cores (mk_attention_mma.cuh), its state
// into the scratch: output, max and sum of each of the instruction's query heads.
template <int D>
__device__ void fold_keys_on_tensor_cores(const Context& c, const Instruction& in, int b, int begin, int end,
                                          AttentionScratch& s) {
  static_assert(kConsumerWarps * MmaAttention<D>::kWarpBytes <= kAttentionStageBytes, "every warp's staging fits");
  const Model& m = *c.m;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const size_t slot_offset = (size_t)c.step->slots[b] * m.slot_stride_bytes + (size_t)in.kv_head * D * 2;
  const Layer& layer = m.layer[in.layer];
  float mx, sum, o[MmaAttention<D>::kDimTiles][4];
  mma_key_range<D>(m.query + (size_t)b * m.heads * D + (size_t)in.head_begin * D, in.head_count, score_scale<D>(),
                   reinterpret_cast<const char*>(layer.k_cache) + slot_offset,
                   reinterpret_cast<const char*>(layer.v_cache) + slot_offset, (size_t)m.kv_heads * D * 2, begin,
                   end, warp % kHalfWarps, kHalfWarps,
                   c.smem + kActivationOffset + warp * MmaAttention<D>::kWarpBytes, mx, sum, o);
  const int g = lane >> 2, q2 = 2 * (lane & 3);  // head g, dims 8t + q2 and 8t + q2 + 1
  if (g < kMaxHeads) {
#pragma unroll
    for (int t = 0; t < MmaAttention<D>::kDimTiles; ++t) {
      s.o[warp][g][8 * t + q2] = o[t][0];
      s.o[warp][g][8 * t + q2 + 1] = o[t][1];
    }
    if (q2 == 0) {
      s.m[warp][g] = mx;
      s.l[warp][g] = sum;
    }
  }
  proxy_fence_shared();  // the next matvec's bulk copies write the staging
}

// The same on CUDA cores, in the graph path's steps and sums (attn_decode): loading each step's K/V pieces
// (kStaged: one step ahead, through shared memory) and folding them with attn::decode_keys.
template <int D, bool kStaged>
__device__ void fold_keys_on_cuda_cores(const Context& c, const Instruction& in, int b, int begin, int end,
                                        AttentionScratch& s) {
  constexpr int LPK = D / 8;          // lanes per key: 8 dims each
  constexpr int KPW = 32 / LPK;       // keys per warp per step
  constexpr int KPS = kHalfWarps * KPW;
  constexpr int U = attn::Decode::kUnroll;
  const Model& m = *c.m;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int lg = lane / LPK, li = lane % LPK;
  const int heads = in.head_count, head0 = in.head_begin;
  const float scale = score_scale<D>();
  float q[kMaxHeads][8];
#pragma unroll
  for (int j = 0; j < kMaxHeads; ++j) {
    if (j < heads) {
      bf16x8_to_float(
          __ldcg(reinterpret_cast<const uint4*>(m.query + (size_t)b * m.heads * D + (head0 + j) * D) + li), q[j]);
#pragma unroll
      for (int i = 0; i < 8; ++i) q[j][i] *= scale;
    } else {
#pragma unroll
      for (int i = 0; i < 8; ++i) q[j][i] = 0.f;
    }
  }
  const size_t key_bytes = (size_t)m.kv_heads * D * 2;
  const size_t slot_offset = (size_t)c.step->slots[b] * m.slot_stride_bytes + (size_t)in.kv_head * D * 2 + li * 16;
  const Layer& l = m.layer[in.layer];
  const char* k_base = reinterpret_cast<const char*>(l.k_cache) + slot_offset;
  const char* v_base = reinterpret_cast<const char*>(l.v_cache) + slot_offset;
  float acc[kMaxHeads][8], mx[kMaxHeads], sum[kMaxHeads];
  // Through L2: this step's K/V were appended by other SMs in this launch.
  const int first = (warp % kHalfWarps) * KPW + lg;
  if constexpr (kStaged) {
    staged_key_range<U, kMaxHeads, LPK, KPS>(q, k_base, v_base, key_bytes, begin, end, first, mx, sum, acc, c.smem);
  } else {
    attn::decode_key_range<U, kMaxHeads, LPK, KPS, true>(q, k_base, v_base, key_bytes, begin, end, first, mx, sum,
                                                         acc);
  }
  if (lg == 0) {
#pragma unroll
    for (int j = 0; j < kMaxHeads; ++j) {
#pragma unroll
      for (int i = 0; i < 8; ++i) s.o[warp][j][li * 8 + i] = acc[j][i];
      if (li == 0) {
        s.m[warp][j] = mx[j];
        s.l[warp][j] = sum[j];
      }
    }
  }
}

// One round: each half of the block computes one context split of batch row b (keys [begin, end) of split
// `split`; none when the range is empty) and writes its fp32 partials (unnormalised o, max, sum), merged over
// the half's warps in their order.
template <int D, bool kStaged>
__device__ void attention_round(Context& c, const Instruction& in, int b, int split, int begin, int end) {
  const Model& m = *c.m;
  AttentionScratch& s = *reinterpret_cast<AttentionScratch*>(scratch(c.smem));
  const int tid = threadIdx.x, half = (tid >> 5) / kHalfWarps;
  const int heads = in.head_count, head0 = in.head_begin;
  if (begin < end) {
    if constexpr (kStaged && D <= 64) {
      fold_keys_on_tensor_cores<D>(c, in, b, begin, end, s);
    } else {
      fold_keys_on_cuda_cores<D, kStaged>(c, in, b, begin, end, s);
    }
  }
  consumer_sync();
  if (begin < end) {
    const int w0 = half * kHalfWarps;
    for (int e = tid % kHalfThreads; e < heads * D; e += kHalfThreads) {
      const int j = e / D, d = e % D;
      float top = -INFINITY;
#pragma unroll
      for (int w = 0; w < kHalfWarps; ++w) top = fmaxf(top, s.m[w0 + w][j]);
      float total = 0.f, o = 0.f;
#pragma unroll
      for (int w = 0; w < kHalfWarps; ++w) {
        const float cw = attn::ex2(s.m[w0 + w][j] - top);  // top is finite: the range holds a key
        total = fmaf(s.l[w0 + w][j], cw, total);
        o = fmaf(s.o[w0 + w][j][d], cw, o);
      }
      const size_t p = ((size_t)b * m.heads + head0 + j) * kMaxSplits + split;
      m.attn_partial_o[p * D + d] = o;
      if (d == 0) {
        m.attn_partial_ml[2 * p] = top;
        m.attn_partial_ml[2 * p + 1] = total;
      }
    }
  }
  consumer_sync();  // the scratch serves the next round
}

// The bf16 attention output of batch row b's head chunk from its one split: divided by its sum, as attn_decode
// does; threads first, first + stride, ... share the work.
template <int D>
__device__ void divide_single_split(const Context& c, const Instruction& in, int b, int first, int stride) {
  const Model& m = *c.m;
  for (int e = first; e < in.head_count * D; e += stride) {
    const int j = e / D, d = e % D;
    const size_t p = ((size_t)b * m.heads + in.head_begin + j) * kMaxSplits;
    m.attention[c.layout.index(b, (in.head_begin + j) * D + d, (int)m.heads * D)] =
        __float2bfloat16_rn(__ldcg(m.attn_partial_o + p * D + d) / __ldcg(m.attn_partial_ml + 2 * p + 1));
  }
}

// Merges splits 0..used-1 of (row, head chunk) into the bf16 attention output, as attn_decode does: one split
// is divided by its sum, more are weighed in split order.
template <int D>
__device__ void attention_merge(Context& c, const Instruction& in, int used) {
  const Model& m = *c.m;
  AttentionScratch& s = *reinterpret_cast<AttentionScratch*>(scratch(c.smem));
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int b = in.row, heads = in.head_count, head0 = in.head_begin;
  if (used == 1) {
    divide_single_split<D>(c, in, b, tid, kConsumerThreads);
    return;
  }
  if (warp < heads) {  // warp j weighs head j's splits, lane s split s
    const size_t pj = ((size_t)b * m.heads + head0 + warp) * kMaxSplits;
    const float ms = lane < used ? __ldcg(m.attn_partial_ml + 2 * (pj + lane)) : -INFINITY;
    const float ls = lane < used ? __ldcg(m.attn_partial_ml + 2 * (pj + lane) + 1) : 0.f;
    float top = ms;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) top = fmaxf(top, __shfl_xor_sync(0xffffffffu, top, o));
    const float w = attn::ex2(ms - top);  // 0 for unused splits
    s.split_weight[warp][lane] = w;
    const float wl = w * ls;
    float total = 0.f;
    for (int k = 0; k < used; ++k) total += __shfl_sync(0xffffffffu, wl, k);  // split order: deterministic
    if (lane == 0) s.inv_sum[warp] = 1.f / total;
  }
  consumer_sync();
  for (int e = tid; e < heads * D; e += kConsumerThreads) {
    const int j = e / D, d = e % D;
    const float* o = m.attn_partial_o + ((size_t)b * m.heads + head0 + j) * kMaxSplits * D + d;
    // Every split's load first (one L2 round trip; a loop of loads and adds waited for each few), then the
    // sum in split order.
    float part[kMaxSplits];
#pragma unroll
    for (int sp = 0; sp < kMaxSplits; ++sp) part[sp] = sp < used ? __ldcg(o + (size_t)sp * D) : 0.f;
    float acc = 0.f;
#pragma unroll
    for (int sp = 0; sp < kMaxSplits; ++sp) {
      if (sp < used) acc = fmaf(part[sp], s.split_weight[j][sp], acc);
    }
    m.attention[c.layout.index(b, (head0 + j) * D + d, (int)m.heads * D)] = __float2bfloat16_rn(acc * s.inv_sum[j]);
  }
}

// The keys [begin, end) of batch row b, context split `split`, that this thread's half of the block folds for
// `in`. Pair instructions (Instruction.java: tile_count 2) give each half one of rows in.row, in.row + 1 and
// its whole context (one split); the others give both halves row in.row and one split each of the share's run
// (StreamBuilder gives an instruction at most two splits: one round). Padded rows have no keys.
struct HalfRange {
  int b, len, split, begin, end;
};
__device__ __forceinline__ HalfRange half_range(const Context& c, const Instruction& in) {
  const int half = (int)threadIdx.x / kHalfThreads;
  const int b = in.tile_count == 2 ? in.row + half : in.row;
  const int len = b < c.step->count ? c.step->positions[b] + 1 : 0;
  if (in.tile_count == 2) return {b, len, 0, 0, len};
  const int per = (len + in.splits - 1) / in.splits;
  // This share's splits (Instruction.java): [share * splits / shares, (share + 1) * splits / shares).
  const int first = in.split * in.splits / in.arrive_count, last = (in.split + 1) * in.splits / in.arrive_count;
  const int split = first + half;
  const int begin = split * per;
  return {b, len, split, begin, split < last ? min(len, begin + per) : begin};
}

// Rows [in.row, in.row + 2) with one context split each: each half of the block serves one row, and divides
// its own result; no other instruction shares the rows, so no arrival.
template <int D, bool kStaged>
__device__ void run_attention_pair(Context& c, const Instruction& in) {
  const HalfRange r = half_range(c, in);
  attention_round<D, kStaged>(c, in, r.b, 0, 0, r.len);  // ends in a block barrier: the partials are visible
  if (r.len > 0) divide_single_split<D>(c, in, r.b, (int)threadIdx.x % kHalfThreads, kHalfThreads);
}

template <int D, bool kStaged>
__device__ void run_attention(Context& c, const Instruction& in) {
  if (in.tile_count == 2) {
    run_attention_pair<D, kStaged>(c, in);
    return;
  }
  Header& h = header(c.smem);
  const HalfRange r = half_range(c, in);
  const bool live = r.b < c.step->count;  // padded rows: no work, but the arrival still counts
  const int per = (r.len + in.splits - 1) / in.splits;
  const int used = per > 0 ? (r.len + per - 1) / per : 0;  // non-empty splits, all leading
  attention_round<D, kStaged>(c, in, r.b, r.split, r.begin, r.end);
  consumer_sync();
  if (threadIdx.x == 0) {  // release of the whole block's partials (mk_sync.cuh)
    __threadfence();
    const unsigned old = add_acq_rel(c.counters + in.arrive, 1);
    h.last_arrival = old == c.epoch * (unsigned)in.arrive_count + (unsigned)in.arrive_count - 1;
  }
  consumer_sync();
  if (h.last_arrival && live) attention_merge<D>(c, in, used);
}

// Asks L2 for the K and V lines of the first kPrefetchKeys keys of this thread's half of attention instruction
// `in`, before the instruction's dependency wait, so that their HBM latency passes while the QKV phase ends.
// Keys before the row's newest were written by earlier launches; the newest one's page is mapped, and a
// prefetch into L2, where other SMs' stores land, leaves no stale copy anywhere.
constexpr int kPrefetchKeys = 64;
template <int D>
__device__ void prefetch_first_keys(const Context& c, const Instruction& in) {
  constexpr int kLines = D * 2 > 128 ? D * 2 / 128 : 1;  // 128-byte lines per key of one KV head, K or V
  const HalfRange r = half_range(c, in);
  const Model& m = *c.m;
  const size_t key_bytes = (size_t)m.kv_heads * D * 2;
  const size_t offset = (size_t)c.step->slots[r.b] * m.slot_stride_bytes + (size_t)in.kv_head * D * 2;
  const Layer& layer = m.layer[in.layer];
  const int keys = min(r.end - r.begin, kPrefetchKeys);
  for (int i = (int)threadIdx.x % kHalfThreads; i < keys * 2 * kLines; i += kHalfThreads) {
    const int key = r.begin + i / (2 * kLines), kv = i / kLines % 2, line = i % kLines;
    const char* cache = reinterpret_cast<const char*>(kv == 0 ? layer.k_cache : layer.v_cache);
    asm volatile("prefetch.global.L2 [%0];" ::"l"(cache + offset + key * key_bytes + line * 128));
  }
}

__device__ __forceinline__ void prefetch_attention_keys(const Context& c, const Instruction& in) {
  switch (c.m->head_dim) {
    case 32: prefetch_first_keys<32>(c, in); break;
    case 64: prefetch_first_keys<64>(c, in); break;
    default: prefetch_first_keys<128>(c, in); break;
  }
}

template <int R>
__device__ __forceinline__ void run_attention_any(Context& c, const Instruction& in) {
  constexpr bool kStaged = staged_attention<R>();
  switch (c.m->head_dim) {
    case 32: run_attention<32, kStaged>(c, in); break;
    case 64: run_attention<64, kStaged>(c, in); break;
    default: run_attention<128, kStaged>(c, in); break;
  }
}

}  // namespace mk
