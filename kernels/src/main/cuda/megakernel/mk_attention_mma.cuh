// Attention's key loop on tensor cores, for the buckets that stage attention's keys (staged_attention) and
// heads of up to 64 dims. The CUDA-core loop (attn::decode_keys) spends ~40 instructions per key and warp on
// 8-lane dot products, shuffles and per-lane softmax; here a warp folds 16 keys with 4 ldmatrix + 8 mma for
// the scores and 4 ldmatrix + 24 mma for the values, in the flash-attention register layout:
//   S^T (query heads x keys) = Q (heads x dims, A) . K^T (B: K rows as stored, [key][dims]);
//   O (heads x dims) += P (heads x keys, A: S^T's accumulators repacked) . V (B: ldmatrix .trans).
// By a count of the source that is about 7x fewer instructions per key; on an H100 at 64 rows an attention
// instruction went only from 18.6 to 17.0 us (with P in two terms), so the loop mostly waits on its K/V
// loads (an L2 prefetch two steps further ahead did not help either).
// Only rows g < heads of the 16-row A fragments are real heads; rows g + 8 are zero and never read.
// P goes in as three bf16 terms (kPTerms: each the rounding error of the ones before), so the values are
// weighed with P's 24 bits, as the CUDA-core loop's fp32 products weigh them, not with bf16's 8. Scores are
// fp32 sums of exact bf16 products, scaled after the sum. Not the graph path's order: agreement is within
// fp32 rounding, not to the bit.
#pragma once
#include "mk_sync.cuh"

namespace mk {

// Keys a warp folds per step, and the per-warp staging of one step: K and V [16 keys][D] bf16.
constexpr int kMmaAttentionKeys = 16;
// bf16 terms that carry P into the value mma.
constexpr int kPTerms = 3;

template <int D>
struct MmaAttention {
  static_assert(D == 32 || D == 64, "16 keys x D dims of K and V, double-buffered per warp, fit 64 KiB");
  static constexpr int kChunks = D / 8;  // 16-byte chunks per key
  static constexpr int kTileBytes = kMmaAttentionKeys * D * 2;
  static constexpr int kWarpBytes = 2 * 2 * kTileBytes;  // two steps of K and V
  static constexpr int kKSteps = D / 16;                 // k16 steps of the scores
  static constexpr int kDimTiles = D / 8;                // n-tiles of the output
};

// Byte offset of (key, chunk) in a staged [16][D] tile: chunk ^ a function of the key that puts the 8
// keys an ldmatrix reads at one logical chunk on 8 different 16-byte bank groups (a key is 64 bytes at
// D = 32, so keys 2i and 2i + 1 share a 128-byte line and differ in its half).
template <int D>
__device__ __forceinline__ int staged_chunk_offset(int key, int chunk) {
  constexpr int C = MmaAttention<D>::kChunks;
  const int swizzle = C >= 8 ? (key & 7) : ((key >> 1) & (C - 1));
  return key * D * 2 + ((chunk ^ swizzle) << 4);
}

// One warp's flash decoding of keys [begin, end) of one KV head for `heads` (<= 4) query heads of
// `query` (bf16 [heads][D], RoPE applied): the warp takes 16 keys from begin + 16 * `lane_warp`, then every
// 16 * `warps` keys further, copying the next step's K and V into its own staging (cp.async, zero-filled
// past `end`) while it computes this one. On return each lane with g = lane / 4 < heads holds query head
// g's state: max m and sum l (log2 domain, scaled by log2(e) / sqrt(D)) and the unnormalised output dims
// 8t + 2c, 8t + 2c + 1 (c = lane % 4) in o[t][0..1].
template <int D>
__device__ void mma_key_range(const __nv_bfloat16* query, int heads, float scale, const char* k_base,
                              const char* v_base, size_t key_bytes, int begin, int end, int lane_warp, int warps,
                              uint8_t* staging, float& m, float& l, float (&o)[MmaAttention<D>::kDimTiles][4]) {
  using A = MmaAttention<D>;
  const int lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
  // Q as A fragments: rows g < heads are the heads, dims 16ks + 2c (a0) and 16ks + 8 + 2c (a2).
  uint32_t q[A::kKSteps][2];
#pragma unroll
  for (int ks = 0; ks < A::kKSteps; ++ks) {
    const bool real = g < heads;
    const __nv_bfloat16* row = query + (size_t)(real ? g : 0) * D + 16 * ks + 2 * c;
    q[ks][0] = real ? __ldcg(reinterpret_cast<const unsigned*>(row)) : 0u;
    q[ks][1] = real ? __ldcg(reinterpret_cast<const unsigned*>(row + 8)) : 0u;
  }
  const uint32_t stage0 = smem_address(staging);
  auto tile = [&](int buffer, int kv) { return stage0 + (buffer * 2 + kv) * A::kTileBytes; };
  constexpr int kStep = kMmaAttentionKeys;
  const int stride = kStep * warps;
  // The keys [base, base + 16) of one step, into `buffer`.
  auto issue = [&](int base, int buffer) {
#pragma unroll
    for (int i = lane; i < kStep * A::kChunks; i += 32) {
      const int key = i / A::kChunks, chunk = i % A::kChunks;
      const int position = base + key;
      const bool valid = position < end;
      const size_t off = (size_t)(valid ? position : end - 1) * key_bytes + chunk * 16;
      const int at = staged_chunk_offset<D>(key, chunk);
      attn::cp_async16(tile(buffer, 0) + at, k_base + off, valid);
      attn::cp_async16(tile(buffer, 1) + at, v_base + off, valid);
    }
    attn::cp_async_commit();
  };
  m = -INFINITY;
  l = 0.f;
#pragma unroll
  for (int t = 0; t < A::kDimTiles; ++t) o[t][0] = o[t][1] = o[t][2] = o[t][3] = 0.f;
  // ldmatrix row addresses: K (keys (lane / 16) * 8 + lane % 8, chunk 2ks + (lane / 8) % 2) gives n-tiles 0
  // and 1's b0, b1; V .trans (keys ((lane / 8) % 2) * 8 + lane % 8, chunk 2p + lane / 16) gives dim tiles
  // 2p and 2p + 1's b0, b1.
  const int k_key = (lane >> 4) * 8 + (lane & 7), k_half = (lane >> 3) & 1;
  const int v_key = ((lane >> 3) & 1) * 8 + (lane & 7), v_half = lane >> 4;
  const int first = begin + lane_warp * kStep;
  int buffer = 0;
  if (first < end) issue(first, 0);
  for (int base = first; base < end; base += stride, buffer ^= 1) {
    if (base + stride < end) {
      issue(base + stride, buffer ^ 1);
      attn::cp_async_wait<1>();
    } else {
      attn::cp_async_wait<0>();
    }
    __syncwarp();  // every lane's copies of this step have landed
    float s[2][4];
#pragma unroll
    for (int n = 0; n < 2; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
    for (int ks = 0; ks < A::kKSteps; ++ks) {
      uint32_t b[4];
      attn::ldsm_x4(b, tile(buffer, 0) + staged_chunk_offset<D>(k_key, 2 * ks + k_half));
      const uint32_t a[4] = {q[ks][0], 0u, q[ks][1], 0u};
      attn::mma_bf16(s[0], a, b[0], b[1]);
      attn::mma_bf16(s[1], a, b[2], b[3]);
    }
    // Scores of head g for keys 2c, 2c + 1 (n-tile 0) and 8 + 2c, 9 + 2c (n-tile 1); masked past `end`.
    float top = m;
#pragma unroll
    for (int n = 0; n < 2; ++n) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const bool valid = base + 8 * n + 2 * c + e < end;
        s[n][e] = valid ? s[n][e] * scale : -INFINITY;
        top = fmaxf(top, s[n][e]);
      }
    }
    top = fmaxf(top, __shfl_xor_sync(0xffffffffu, top, 1));
    top = fmaxf(top, __shfl_xor_sync(0xffffffffu, top, 2));
    const float base_value = top == -INFINITY ? 0.f : top;
    const float correction = attn::ex2(m - base_value);
    m = top;
    l *= correction;
    // P as three bf16 terms, each the rounding of what the earlier ones left: 24 bits, fp32's precision.
    uint32_t terms[kPTerms][2];
#pragma unroll
    for (int n = 0; n < 2; ++n) {
      float2 rest = make_float2(attn::ex2(s[n][0] - base_value), attn::ex2(s[n][1] - base_value));
      l += rest.x + rest.y;
#pragma unroll
      for (int t = 0; t < kPTerms; ++t) {
        const __nv_bfloat162 term = __floats2bfloat162_rn(rest.x, rest.y);
        const float2 back = __bfloat1622float2(term);
        rest = make_float2(rest.x - back.x, rest.y - back.y);
        terms[t][n] = *reinterpret_cast<const uint32_t*>(&term);
      }
    }
#pragma unroll
    for (int p = 0; p < A::kDimTiles / 2; ++p) {
      uint32_t b[4];
      attn::ldsm_x4_trans(b, tile(buffer, 1) + staged_chunk_offset<D>(v_key, 2 * p + v_half));
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float (&acc)[4] = o[2 * p + h];
        acc[0] *= correction;
        acc[1] *= correction;
#pragma unroll
        for (int t = 0; t < kPTerms; ++t) {
          const uint32_t a[4] = {terms[t][0], 0u, terms[t][1], 0u};
          attn::mma_bf16(acc, a, b[2 * h], b[2 * h + 1]);
        }
      }
    }
    __syncwarp();  // every lane has read this step's buffer before the next step's copies refill it
  }
  l += __shfl_xor_sync(0xffffffffu, l, 1);
  l += __shfl_xor_sync(0xffffffffu, l, 2);
}

}  // namespace mk
