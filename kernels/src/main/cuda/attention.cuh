// Attention over the vAttention KV cache (bf16): causal flash-attention prefill on tensor cores
// (mma.sync m16n8k16) and split-KV decode (flash-decoding) whose last split merges the partials in a fixed order.
//
// Shared semantics: q and out are bf16 [T, nH*D], row t = token t of the step, RoPE already applied.
// Query head h reads kv head h / (nH/nKV). A token at position p of slot s attends to positions 0..p
// of that slot; the cache address of (s, p, kv head, d) is
//   base + s*slotStrideBytes + ((p*nKV + kvHead)*D + d)*2.
// Positions past p may be unmapped pages, so no load ever touches them (not even a discarded one).
// Softmax runs in fp32 in the log2 domain: scores are multiplied by log2(e)/sqrt(D) once and
// exponentiated with ex2.approx.
#pragma once
#include <cuda_bf16.h>
#include <cstdint>

namespace attn {

__device__ __forceinline__ float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));  // ex2(-inf) = +0
  return y;
}

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte global->shared copy; with valid == false nothing is read and the 16 bytes are zero-filled
// (src-size 0), so the caller passes an in-bounds address anyway.
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0)
               : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// ldmatrix .x4: lanes 8i..8i+7 give the row addresses of 8x8 matrix i; register i receives matrix i,
// lane l holding row l/4, columns 2*(l%4), 2*(l%4)+1 (with .trans: rows 2*(l%4), 2*(l%4)+1 of column
// l/4 of the stored matrix).
__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr)
               : "memory");
}
__device__ __forceinline__ void ldsm_x4_trans(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr)
               : "memory");
}

// D(16x8, fp32) += A(16x16, bf16, row) * B(16x8, bf16, col). With g = lane/4, c = lane%4 (PTX ISA):
//   A: a0 = (g, 2c..2c+1)  a1 = (g+8, 2c..)  a2 = (g, 2c+8..)  a3 = (g+8, 2c+8..)   [row, k]
//   B: b0 = (k 2c..2c+1, n g)  b1 = (k 2c+8.., n g)
//   C: c0,c1 = (g, 2c..2c+1)   c2,c3 = (g+8, 2c..2c+1)                              [row, n]
// Each 32-bit register holds two bf16, the lower column (or k) in the low half.
__device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);  // .x (low half) = lo
  return *reinterpret_cast<uint32_t*>(&v);
}

// ---------------------------------------------------------------------------------------------
// Prefill: one CTA per (tile of <= 64 query tokens, query head); 4 warps, warp w owns query rows
// 16w..16w+15. Key/value tiles of 64 positions stream through a double-buffered cp.async pipeline
// from the diagonal tile down to tile 0, so the masked tiles come first and warps whose rows all
// precede a tile skip it.
// ---------------------------------------------------------------------------------------------
template <int D>
struct Prefill {
  static constexpr int kRows = 64;     // query rows per CTA
  static constexpr int kKeys = 64;     // keys per K/V tile
  static constexpr int kThreads = 128;
  // Row pitch in bf16: +16 bytes makes the 8 row addresses of every ldmatrix land in 8 different
  // 16-byte bank groups (pitch/16 is odd for D = 32, 64, 128), so reads are conflict-free.
  static constexpr int kPitch = D + 8;
  static constexpr int kTile = kKeys * kPitch;                   // elements per K or V tile
  static constexpr int kSmemBytes = (kRows * kPitch + 4 * kTile) * 2;  // Q, 2 x K, 2 x V
  static constexpr int kChunks = D / 8;                          // 16-byte chunks per row
};

template <int D>
__device__ __forceinline__ void prefill_load_kv(__nv_bfloat16* sK, __nv_bfloat16* sV, const char* kSlot,
                                                const char* vSlot, int kvHead, int nKV, int tile, int lastPos,
                                                int tid) {
  using P = Prefill<D>;
#pragma unroll
  for (int i = 0; i < P::kKeys * P::kChunks / P::kThreads; ++i) {
    const int c = tid + i * P::kThreads;
    const int r = c / P::kChunks;
    const int ch = c % P::kChunks;
    const int key = tile * P::kKeys + r;
    const bool valid = key <= lastPos;  // later positions may be unmapped: zero-fill, never read
    const size_t off = ((size_t)(valid ? key : 0) * nKV + kvHead) * (D * 2) + ch * 16;
    cp_async16(smem_addr(sK + r * P::kPitch + ch * 8), kSlot + off, valid);
    cp_async16(smem_addr(sV + r * P::kPitch + ch * 8), vSlot + off, valid);
  }
}

// tiles[i] = {firstToken, tokenCount (1..64), slot, firstPosition}. grid = (nH, tileCount), block 128,
// dynamic shared memory Prefill<D>::kSmemBytes. Tiles run last-first: a chunk's later tiles are the
// longest, so they start first.
template <int D>
__device__ __forceinline__ void attn_prefill(const __nv_bfloat16* __restrict__ q, const char* __restrict__ kCache,
                                             const char* __restrict__ vCache, long long slotStrideBytes,
                                             const int4* __restrict__ tiles, int tileCount, int nH, int nKV,
                                             float scaleLog2, __nv_bfloat16* __restrict__ out) {
  using P = Prefill<D>;
  extern __shared__ __align__(16) unsigned char smem[];
  __nv_bfloat16* sQ = reinterpret_cast<__nv_bfloat16*>(smem);
  __nv_bfloat16* sK = sQ + P::kRows * P::kPitch;  // two buffers, kTile apart
  __nv_bfloat16* sV = sK + 2 * P::kTile;

  const int head = blockIdx.x;
  const int4 tile = tiles[tileCount - 1 - blockIdx.y];
  const int firstToken = tile.x, count = tile.y, firstPos = tile.w;
  const int kvHead = head / (nH / nKV);
  const int lastPos = firstPos + count - 1;
  const int keyTiles = lastPos / P::kKeys + 1;
  const char* kSlot = kCache + (size_t)tile.z * slotStrideBytes;
  const char* vSlot = vCache + (size_t)tile.z * slotStrideBytes;
  const size_t qPitch = (size_t)nH * D;  // elements per token row of q and out

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int g = lane >> 2, c = lane & 3;

  // Q tile (rows past count zero-filled) as its own group, then the diagonal K/V tile.
#pragma unroll
  for (int i = 0; i < P::kRows * P::kChunks / P::kThreads; ++i) {
    const int idx = tid + i * P::kThreads;
    const int r = idx / P::kChunks, ch = idx % P::kChunks;
    const bool valid = r < count;
    const __nv_bfloat16* src = q + (size_t)(firstToken + (valid ? r : 0)) * qPitch + head * D + ch * 8;
    cp_async16(smem_addr(sQ + r * P::kPitch + ch * 8), src, valid);
  }
  cp_async_commit();
  prefill_load_kv<D>(sK, sV, kSlot, vSlot, kvHead, nKV, keyTiles - 1, lastPos, tid);
  cp_async_commit();

  cp_async_wait<1>();
  __syncthreads();
  // Q as A fragments, one per 16 columns: matrices (rows 0-7 | 8-15) x (cols 0-7 | 8-15) of the
  // warp's 16 rows, in the order a0..a3 expects: lane l addresses row l%16, column 8*(l/16).
  const int rowBase = warp * 16;
  uint32_t qf[D / 16][4];
#pragma unroll
  for (int kc = 0; kc < D / 16; ++kc) {
    ldsm_x4(qf[kc], smem_addr(sQ + (rowBase + (lane & 15)) * P::kPitch + kc * 16 + (lane >> 4) * 8));
  }

  const bool warpActive = rowBase < count;
  const int warpMinPos = firstPos + rowBase;
  const int warpMaxPos = firstPos + min(rowBase + 15, count - 1);
  // This thread's two rows (g and g+8); padding rows past count are clamped to the last real
  // position so that keys past lastPos (zero-filled) are always masked.
  const int pos0 = min(firstPos + rowBase + g, lastPos);
  const int pos1 = min(firstPos + rowBase + g + 8, lastPos);

  float o[D / 8][4];
#pragma unroll
  for (int i = 0; i < D / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
  float m0 = -INFINITY, m1 = -INFINITY;  // running max of scaled scores (log2 domain), rows g, g+8
  float l0 = 0.f, l1 = 0.f;              // this thread's part of the row sums (quad-reduced at the end)

  for (int it = 0; it < keyTiles; ++it) {
    const int kt = keyTiles - 1 - it;
    const int buf = it & 1;
    if (kt > 0) {
      prefill_load_kv<D>(sK + (buf ^ 1) * P::kTile, sV + (buf ^ 1) * P::kTile, kSlot, vSlot, kvHead, nKV,
                         kt - 1, lastPos, tid);
    }
    cp_async_commit();  // possibly empty: keeps "all but the newest group" = this tile
    cp_async_wait<1>();
    __syncthreads();

    const int keyBase = kt * P::kKeys;
    if (warpActive && keyBase <= warpMaxPos) {
      const __nv_bfloat16* tK = sK + buf * P::kTile;
      const __nv_bfloat16* tV = sV + buf * P::kTile;

      // S = Q K^T: 16 rows x 64 keys = 8 n-tiles of 8 keys. B[k=d][n=key] = K[key][d], i.e. K rows
      // read without transpose. One ldmatrix.x4 covers 16 keys x 16 dims: lane l addresses key
      // (l%8) + 8*(l/16), dim 8*((l/8)%2), so r0,r1 = b0,b1 of keys 0-7 and r2,r3 = b0,b1 of keys 8-15.
      float s[8][4];
#pragma unroll
      for (int i = 0; i < 8; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
#pragma unroll
      for (int kc = 0; kc < D / 16; ++kc) {
#pragma unroll
        for (int np = 0; np < 4; ++np) {
          uint32_t b[4];
          ldsm_x4(b, smem_addr(tK + (np * 16 + (lane & 7) + ((lane >> 4) << 3)) * P::kPitch + kc * 16 +
                               ((lane >> 3) & 1) * 8));
          mma_bf16(s[2 * np], qf[kc], b[0], b[1]);
          mma_bf16(s[2 * np + 1], qf[kc], b[2], b[3]);
        }
      }

      // Scale into the log2 domain and mask keys past each row's position (only the tiles that
      // reach past the warp's first row need it). s[nt][0..1] are row g, keys nt*8+2c+{0,1};
      // s[nt][2..3] are row g+8.
      const bool needMask = keyBase + P::kKeys - 1 > warpMinPos;
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          float v = s[nt][e] * scaleLog2;
          if (needMask) {
            const int key = keyBase + nt * 8 + 2 * c + (e & 1);
            if (key > (e < 2 ? pos0 : pos1)) v = -INFINITY;
          }
          s[nt][e] = v;
        }
      }

      // Online softmax; a row's four values of a key column sit in the 4 lanes of a quad.
      float mx0 = m0, mx1 = m1;
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
        mx0 = fmaxf(mx0, fmaxf(s[nt][0], s[nt][1]));
        mx1 = fmaxf(mx1, fmaxf(s[nt][2], s[nt][3]));
      }
      mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
      mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
      mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
      mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
      // A row with nothing unmasked yet keeps max -inf; subtract 0 then so no (-inf) - (-inf) NaN.
      const float base0 = mx0 == -INFINITY ? 0.f : mx0;
      const float base1 = mx1 == -INFINITY ? 0.f : mx1;
      const float corr0 = ex2(m0 - base0), corr1 = ex2(m1 - base1);
      m0 = mx0;
      m1 = mx1;
      l0 *= corr0;
      l1 *= corr1;
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        o[dt][0] *= corr0;
        o[dt][1] *= corr0;
        o[dt][2] *= corr1;
        o[dt][3] *= corr1;
      }
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
        s[nt][0] = ex2(s[nt][0] - base0);
        s[nt][1] = ex2(s[nt][1] - base0);
        s[nt][2] = ex2(s[nt][2] - base1);
        s[nt][3] = ex2(s[nt][3] - base1);
        l0 += s[nt][0] + s[nt][1];
        l1 += s[nt][2] + s[nt][3];
      }

      // O += P V. The accumulator of n-tiles 2kk, 2kk+1 (keys 16kk..16kk+15) is exactly the A
      // fragment of k-chunk kk: a0 = (g, keys 2c..) = s[2kk][0..1], a1 = (g+8, ..) = s[2kk][2..3],
      // a2 = (g, keys 8+2c..) = s[2kk+1][0..1], a3 = s[2kk+1][2..3].
      // B[k=key][n=d] = V[key][d] needs two consecutive keys per register: ldmatrix .trans of V rows.
      // Lane l addresses key (l%8) + 8*((l/8)%2), dim 8*(l/16): r0,r1 = b0,b1 of dims 0-7, r2,r3 of 8-15.
#pragma unroll
      for (int kk = 0; kk < 4; ++kk) {
        uint32_t a[4];
        a[0] = pack_bf16x2(s[2 * kk][0], s[2 * kk][1]);
        a[1] = pack_bf16x2(s[2 * kk][2], s[2 * kk][3]);
        a[2] = pack_bf16x2(s[2 * kk + 1][0], s[2 * kk + 1][1]);
        a[3] = pack_bf16x2(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
        for (int dp = 0; dp < D / 16; ++dp) {
          uint32_t b[4];
          ldsm_x4_trans(b, smem_addr(tV + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * P::kPitch + dp * 16 +
                                     (lane >> 4) * 8));
          mma_bf16(o[2 * dp], a, b[0], b[1]);
          mma_bf16(o[2 * dp + 1], a, b[2], b[3]);
        }
      }
    }
    __syncthreads();  // everyone is done with this buffer before the next prefetch overwrites it
  }

  if (!warpActive) return;
  l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
  l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
  l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
  l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
  // Every real row sees key 0, so l > 0 there; padding rows are not stored.
  const float inv0 = 1.f / l0, inv1 = 1.f / l1;
  const int r0 = rowBase + g, r1 = rowBase + g + 8;
  __nv_bfloat16* out0 = out + (size_t)(firstToken + r0) * qPitch + head * D + 2 * c;
  __nv_bfloat16* out1 = out + (size_t)(firstToken + r1) * qPitch + head * D + 2 * c;
#pragma unroll
  for (int dt = 0; dt < D / 8; ++dt) {
    if (r0 < count) *reinterpret_cast<uint32_t*>(out0 + dt * 8) = pack_bf16x2(o[dt][0] * inv0, o[dt][1] * inv0);
    if (r1 < count) *reinterpret_cast<uint32_t*>(out1 + dt * 8) = pack_bf16x2(o[dt][2] * inv1, o[dt][3] * inv1);
  }
}

// ---------------------------------------------------------------------------------------------
// Decode (flash-decoding). grid = (maxRows, nKV * headChunks, splits), block 128. A block takes one
// decode row, one kv head, up to kHeads of its query heads (so each K/V byte is read once for them)
// and the split's contiguous key range [split*per, min(len, (split+1)*per)), per = ceil(len/splits).
// D/8 lanes share a key, each holding 8 dims (one 16-byte load); a warp covers 32/(D/8) keys per
// step and every lane group keeps its own online-softmax state, merged at the end of the block.
// A row whose keys fit one split is written directly. Otherwise each split stores fp32 partials
// (unnormalised o, max, sum) to the workspace and bumps a per-(row, block y) counter; the block that
// finishes last merges all splits in split order (so the result does not depend on which block that
// is) and resets the counter to 0 for the next launch. This saves the launch of a combine kernel.
// ---------------------------------------------------------------------------------------------
struct Decode {
  static constexpr int kThreads = 128;
  static constexpr int kWarps = kThreads / 32;
  static constexpr int kHeads = 4;   // query heads per block (GQA group 8 takes two blocks per kv head)
  static constexpr int kUnroll = 4;  // keys per lane group per iteration: 8 loads of 16 B in flight
};

__device__ __forceinline__ void bf16x8_to_float(const uint4& v, float (&f)[8]) {
  const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    f[2 * i] = __uint_as_float(w[i] << 16);
    f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
  }
}

// Merges softmax state (m2, l2, a2) into (m, l, a); max -inf means "empty".
template <int N>
__device__ __forceinline__ void merge_state(float& m, float& l, float (&a)[N], float m2, float l2,
                                            const float (&a2)[N]) {
  const float mx = fmaxf(m, m2);
  const float base = mx == -INFINITY ? 0.f : mx;
  const float c1 = ex2(m - base), c2 = ex2(m2 - base);
  l = l * c1 + l2 * c2;
#pragma unroll
  for (int i = 0; i < N; ++i) a[i] = a[i] * c1 + a2[i] * c2;
  m = mx;
}

// The empty online-softmax state of H query heads.
template <int H>
__device__ __forceinline__ void clear_state(float (&m)[H], float (&l)[H], float (&acc)[H][8]) {
#pragma unroll
  for (int j = 0; j < H; ++j) {
    m[j] = -INFINITY;
    l[j] = 0.f;
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[j][i] = 0.f;
  }
}

// One step of a lane group's flash decoding: folds U keys (their K and V 16-byte pieces; invalid keys are
// masked) into the online-softmax state of H query heads (q scaled by log2(e) / sqrt(D), 8 dims per lane).
template <int U, int H, int LPK>
__device__ __forceinline__ void decode_keys(const float (&q)[H][8], const uint4 (&kr)[U], const uint4 (&vr)[U],
                                            const bool (&valid)[U], float (&m)[H], float (&l)[H],
                                            float (&acc)[H][8]) {
  float s[U][H];
#pragma unroll
  for (int u = 0; u < U; ++u) {
    float kf[8];
    bf16x8_to_float(kr[u], kf);
#pragma unroll
    for (int j = 0; j < H; ++j) {
      float d = 0.f;
#pragma unroll
      for (int i = 0; i < 8; ++i) d = fmaf(q[j][i], kf[i], d);
      s[u][j] = d;
    }
  }
  // Dot products summed over the LPK lanes of a key (xor stays inside the aligned lane group).
#pragma unroll
  for (int off = 1; off < LPK; off <<= 1) {
#pragma unroll
    for (int u = 0; u < U; ++u) {
#pragma unroll
      for (int j = 0; j < H; ++j) s[u][j] += __shfl_xor_sync(0xffffffffu, s[u][j], off);
    }
  }
#pragma unroll
  for (int j = 0; j < H; ++j) {
    float mx = m[j];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      if (!valid[u]) s[u][j] = -INFINITY;
      mx = fmaxf(mx, s[u][j]);
    }
    const float b = mx == -INFINITY ? 0.f : mx;
    const float corr = ex2(m[j] - b);
    m[j] = mx;
    l[j] *= corr;
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[j][i] *= corr;
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const float p = ex2(s[u][j] - b);
      l[j] += p;
      float vf[8];
      bf16x8_to_float(vr[u], vf);
#pragma unroll
      for (int i = 0; i < 8; ++i) acc[j][i] = fmaf(p, vf[i], acc[j][i]);
    }
  }
}

// Merges the lane groups of a warp (lanes with the same li hold the same dims) in a fixed order.
template <int H, int LPK>
__device__ __forceinline__ void merge_lane_groups(float (&m)[H], float (&l)[H], float (&acc)[H][8]) {
#pragma unroll
  for (int off = LPK; off < 32; off <<= 1) {
#pragma unroll
    for (int j = 0; j < H; ++j) {
      float a2[8];
#pragma unroll
      for (int i = 0; i < 8; ++i) a2[i] = __shfl_xor_sync(0xffffffffu, acc[j][i], off);
      const float m2 = __shfl_xor_sync(0xffffffffu, m[j], off);
      const float l2 = __shfl_xor_sync(0xffffffffu, l[j], off);
      merge_state<8>(m[j], l[j], acc[j], m2, l2, a2);
    }
  }
}

// The key a lane group takes as the u-th of the step at `base`, and whether it is in [.., end): keys past
// the range re-read the range's last key (in bounds, cached) and are masked.
template <int KPS>
__device__ __forceinline__ int step_key(int base, int u, int first, int end, bool& valid) {
  const int key = base + u * KPS + first;
  valid = key < end;
  return valid ? key : end - 1;
}

// One lane's part of flash decoding over keys [begin, end) of one KV head for H query heads (q scaled
// by log2(e) / sqrt(D), 8 dims per lane): the lane group of a key holds LPK lanes; step `base` gives
// this lane group keys base + u * KPS + first (u < U in flight). On return (m, l, acc) is the online
// softmax state of the warp's keys, merged over its lane groups in a fixed order. kThroughL2 reads K/V
// with ld.global.cg, for caches written earlier in the same launch (the megakernel); else through the
// read-only path.
template <int U, int H, int LPK, int KPS, bool kThroughL2>
__device__ __forceinline__ void decode_key_range(const float (&q)[H][8], const char* k_base, const char* v_base,
                                                 size_t key_bytes, int begin, int end, int first, float (&m)[H],
                                                 float (&l)[H], float (&acc)[H][8]) {
  clear_state<H>(m, l, acc);
  for (int base = begin; base < end; base += U * KPS) {
    uint4 kr[U], vr[U];
    bool valid[U];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const size_t off = (size_t)step_key<KPS>(base, u, first, end, valid[u]) * key_bytes;
      const uint4* k = reinterpret_cast<const uint4*>(k_base + off);
      const uint4* v = reinterpret_cast<const uint4*>(v_base + off);
      kr[u] = kThroughL2 ? __ldcg(k) : __ldg(k);
      vr[u] = kThroughL2 ? __ldcg(v) : __ldg(v);
    }
    decode_keys<U, H, LPK>(q, kr, vr, valid, m, l, acc);
  }
  merge_lane_groups<H, LPK>(m, l, acc);
}

// wsO: [maxRows][nH][splits][D] floats, wsML: [maxRows][nH][splits][2] (max, sum),
// counters: [maxRows][gridDim.y] ints, zero between launches.
template <int D>
__device__ __forceinline__ void attn_decode(const __nv_bfloat16* __restrict__ q, const char* __restrict__ kCache,
                                            const char* __restrict__ vCache, long long slotStrideBytes,
                                            const int* __restrict__ rows, const int* __restrict__ rowCount,
                                            const int* __restrict__ slots, const int* __restrict__ positions,
                                            int nH, int nKV, int numSplits, float scaleLog2, float* wsO,
                                            float* wsML, int* counters, __nv_bfloat16* __restrict__ out) {
  constexpr int LPK = D / 8;            // lanes per key
  constexpr int KPW = 32 / LPK;         // keys per warp per step
  constexpr int KPS = Decode::kWarps * KPW;
  constexpr int U = Decode::kUnroll;
  constexpr int HG = Decode::kHeads;
  __shared__ float sO[Decode::kWarps][HG][D];
  __shared__ float sM[Decode::kWarps][HG], sL[Decode::kWarps][HG];
  __shared__ float sSplitW[HG][32];  // last block: weight of each split (numSplits <= 32)
  __shared__ float sInvSum[HG];
  __shared__ bool sLast;

  const int r = blockIdx.x;
  // rows[] has maxRows entries, so rows[r] may be read together with the count (one latency, not two).
  const int count = *rowCount;
  const int t = rows[r];
  if (r >= count) return;
  const int group = nH / nKV;
  const int chunks = (group + HG - 1) / HG;
  const int kvHead = blockIdx.y / chunks;
  const int chunk = blockIdx.y % chunks;
  const int head0 = kvHead * group + chunk * HG;
  const int heads = min(HG, group - chunk * HG);
  const int slot = slots[t];
  const int len = positions[t] + 1;
  const int per = (len + numSplits - 1) / numSplits;
  const int used = (len + per - 1) / per;  // splits with a non-empty range, all leading
  const int begin = blockIdx.z * per;
  const int end = min(len, begin + per);
  if (begin >= end) return;  // empty split: neither counted nor read

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int lg = lane / LPK, li = lane % LPK;
  const size_t qPitch = (size_t)nH * D;

  float qf[HG][8];
#pragma unroll
  for (int j = 0; j < HG; ++j) {
    if (j < heads) {
      const uint4 raw = *reinterpret_cast<const uint4*>(q + (size_t)t * qPitch + (head0 + j) * D + li * 8);
      bf16x8_to_float(raw, qf[j]);
#pragma unroll
      for (int i = 0; i < 8; ++i) qf[j][i] *= scaleLog2;
    } else {
#pragma unroll
      for (int i = 0; i < 8; ++i) qf[j][i] = 0.f;
    }
  }

  const size_t keyBytes = (size_t)nKV * D * 2;
  const size_t slotOff = (size_t)slot * slotStrideBytes + (size_t)kvHead * D * 2 + li * 16;
  const char* kBase = kCache + slotOff;
  const char* vBase = vCache + slotOff;

  float acc[HG][8], m[HG], l[HG];
  decode_key_range<U, HG, LPK, KPS, false>(qf, kBase, vBase, keyBytes, begin, end, warp * KPW + lg, m, l, acc);
  if (lg == 0) {
#pragma unroll
    for (int j = 0; j < HG; ++j) {
#pragma unroll
      for (int i = 0; i < 8; ++i) sO[warp][j][li * 8 + i] = acc[j][i];
      if (li == 0) {
        sM[warp][j] = m[j];
        sL[warp][j] = l[j];
      }
    }
  }
  __syncthreads();

  // Warps merged in a fixed order: deterministic.
  const size_t p0 = ((size_t)r * nH + head0) * numSplits;  // partial of (row, head0, split 0)
  for (int e = tid; e < heads * D; e += Decode::kThreads) {
    const int j = e / D, d = e % D;
    float mx = -INFINITY;
#pragma unroll
    for (int w = 0; w < Decode::kWarps; ++w) mx = fmaxf(mx, sM[w][j]);
    float sum = 0.f, o = 0.f;
#pragma unroll
    for (int w = 0; w < Decode::kWarps; ++w) {
      const float cw = ex2(sM[w][j] - mx);  // mx is finite: the range holds a key
      sum = fmaf(sL[w][j], cw, sum);
      o = fmaf(sO[w][j][d], cw, o);
    }
    if (used == 1) {
      out[(size_t)t * qPitch + (head0 + j) * D + d] = __float2bfloat16_rn(o / sum);
    } else {
      const size_t p = p0 + (size_t)j * numSplits + blockIdx.z;
      wsO[p * D + d] = o;
      if (d == 0) {
        wsML[2 * p] = mx;
        wsML[2 * p + 1] = sum;
      }
    }
  }
  if (used == 1) return;

  // Publish the partials, then count this split; the last of the row's `used` splits merges them.
  __threadfence();
  __syncthreads();
  int* counter = counters + (size_t)r * gridDim.y + blockIdx.y;
  if (tid == 0) {
    const bool last = atomicAdd(counter, 1) == used - 1;
    if (last) *counter = 0;  // nobody else touches it in this launch; the next launch starts from 0
    sLast = last;
  }
  __syncthreads();
  if (!sLast) return;
  __threadfence();
  // Split weights exp2(m_s - max) and 1/sum with one L2 round trip: warp j < heads takes head j,
  // lane s split s (numSplits <= 32). Every lane adds the weighted sums in split order: deterministic.
  if (tid < heads * 32) {
    const int j = warp, s = lane;
    const size_t pj = p0 + (size_t)j * numSplits;
    const float ms = s < used ? __ldcg(wsML + 2 * (pj + s)) : -INFINITY;
    const float ls = s < used ? __ldcg(wsML + 2 * (pj + s) + 1) : 0.f;
    float mx = ms;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    const float w = ex2(ms - mx);  // finite mx (used >= 2); 0 for unused splits
    sSplitW[j][s] = w;
    const float wl = w * ls;
    float sum = 0.f;
    for (int k = 0; k < used; ++k) sum += __shfl_sync(0xffffffffu, wl, k);
    if (s == 0) sInvSum[j] = 1.f / sum;
  }
  __syncthreads();
  for (int e = tid; e < heads * D; e += Decode::kThreads) {
    const int j = e / D, d = e % D;
    const float* o = wsO + (p0 + (size_t)j * numSplits) * D + d;
    float acc = 0.f;
#pragma unroll 8
    for (int s = 0; s < used; ++s) acc = fmaf(__ldcg(o + (size_t)s * D), sSplitW[j][s], acc);  // split order
    out[(size_t)t * qPitch + (head0 + j) * D + d] = __float2bfloat16_rn(acc * sInvSum[j]);
  }
}

}  // namespace attn

// scaleLog2 = log2(e) / sqrt(D) for all kernels below.
#define ATTN_INSTANTIATE(D)                                                                                    \
  extern "C" __global__ void __launch_bounds__(128, (D) == 32 ? 4 : (D) == 64 ? 3 : 2) attn_prefill_d##D(                      \
      const __nv_bfloat16* q, const char* kCache, const char* vCache, long long slotStrideBytes,               \
      const int4* tiles, int tileCount, int nH, int nKV, float scaleLog2, __nv_bfloat16* out) {                 \
    attn::attn_prefill<D>(q, kCache, vCache, slotStrideBytes, tiles, tileCount, nH, nKV, scaleLog2, out);     \
  }                                                                                                            \
  extern "C" __global__ void __launch_bounds__(128, 4) attn_decode_d##D(                                          \
      const __nv_bfloat16* q, const char* kCache, const char* vCache, long long slotStrideBytes,               \
      const int* rows, const int* rowCount, const int* slots, const int* positions, int nH, int nKV,           \
      int numSplits, float scaleLog2, float* wsO, float* wsML, int* counters, __nv_bfloat16* out) {            \
    attn::attn_decode<D>(q, kCache, vCache, slotStrideBytes, rows, rowCount, slots, positions, nH, nKV,       \
                         numSplits, scaleLog2, wsO, wsML, counters, out);                                      \
  }

ATTN_INSTANTIATE(32)
ATTN_INSTANTIATE(64)
ATTN_INSTANTIATE(128)
#undef ATTN_INSTANTIATE
