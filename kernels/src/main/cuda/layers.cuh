// The small per-token kernels of the Llama forward pass: embedding lookup, RMSNorm, and RoPE with the
// KV-cache append. The matmuls, attention and sampling live in their own files.
//
// Activations: the residual stream x is fp32 [tokens, hidden] (it accumulates 2 * layers additions, so
// it keeps full precision); the inputs of the matmuls are bf16.
//
// Rows beyond the step's valid count (a CUDA-graph bucket padded to its size) must have no side effect
// on the KV cache, so the kernels that write the cache read that count from device memory.
#pragma once
#include <cstdint>
#include <cuda_bf16.h>

namespace layers {

// Sum over the block of one float per thread; every thread gets the total. blockDim.x <= 1024, a
// multiple of 32. The order of additions is fixed, so the result is deterministic.
__device__ __forceinline__ float block_sum(float value, float* scratch) {
  for (int offset = 16; offset > 0; offset >>= 1) {
    value += __shfl_xor_sync(0xffffffffu, value, offset);
  }
  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  if (lane == 0) {
    scratch[warp] = value;
  }
  __syncthreads();
  float total = 0.f;
  const int warps = blockDim.x >> 5;
  for (int w = 0; w < warps; w++) {
    total += scratch[w];
  }
  __syncthreads();  // scratch may be reused right after
  return total;
}

}  // namespace layers

// x[t] = embedding[tokens[t]] widened to fp32. grid = tokens, any block size; hidden % 8 == 0.
extern "C" __global__ void layer_embed(const int* __restrict__ tokens,
                                       const __nv_bfloat16* __restrict__ table,
                                       float* __restrict__ x, int hidden) {
  const int t = blockIdx.x;
  const uint4* row = reinterpret_cast<const uint4*>(table + static_cast<long long>(tokens[t]) * hidden);
  float4* out = reinterpret_cast<float4*>(x + static_cast<long long>(t) * hidden);
  for (int i = threadIdx.x; i < hidden / 8; i += blockDim.x) {
    const uint4 packed = row[i];
    const __nv_bfloat162* pairs = reinterpret_cast<const __nv_bfloat162*>(&packed);
    const float2 a = __bfloat1622float2(pairs[0]);
    const float2 b = __bfloat1622float2(pairs[1]);
    const float2 c = __bfloat1622float2(pairs[2]);
    const float2 d = __bfloat1622float2(pairs[3]);
    out[2 * i] = make_float4(a.x, a.y, b.x, b.y);
    out[2 * i + 1] = make_float4(c.x, c.y, d.x, d.y);
  }
}

// out[r] = bf16(weight * (x[src] / sqrt(mean(x[src]^2) + eps))), src = rows ? rows[r] : r, as Hugging
// Face's LlamaRMSNorm. The row list gathers the last token of each sequence for the LM head.
// grid = output rows, blockDim 256; hidden % 4 == 0.
extern "C" __global__ void layer_rmsnorm(const float* __restrict__ x, const __nv_bfloat16* __restrict__ weight,
                                         __nv_bfloat16* __restrict__ out, int hidden, float eps,
                                         const int* __restrict__ rows) {
  __shared__ float scratch[32];
  const int r = blockIdx.x;
  const int src = rows != nullptr ? rows[r] : r;
  const float4* in = reinterpret_cast<const float4*>(x + static_cast<long long>(src) * hidden);
  float squares = 0.f;
  for (int i = threadIdx.x; i < hidden / 4; i += blockDim.x) {
    const float4 v = in[i];
    squares += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
  }
  const float total = layers::block_sum(squares, scratch);
  const float inverse_rms = rsqrtf(total / hidden + eps);
  __nv_bfloat162* o = reinterpret_cast<__nv_bfloat162*>(out + static_cast<long long>(r) * hidden);
  const __nv_bfloat162* w = reinterpret_cast<const __nv_bfloat162*>(weight);
  for (int i = threadIdx.x; i < hidden / 4; i += blockDim.x) {
    const float4 v = in[i];
    const float2 w0 = __bfloat1622float2(w[2 * i]);
    const float2 w1 = __bfloat1622float2(w[2 * i + 1]);
    o[2 * i] = __floats2bfloat162_rn(w0.x * (v.x * inverse_rms), w0.y * (v.y * inverse_rms));
    o[2 * i + 1] = __floats2bfloat162_rn(w1.x * (v.z * inverse_rms), w1.y * (v.w * inverse_rms));
  }
}

// Splits token t's fused q|k|v projection (fp32 [tokens, (heads + 2 * kv_heads) * head_dim]), rotates
// q and k (rotate-half layout: pairs (i, i + head_dim/2) turn by position * inverse_frequency[i], from
// the cos/sin tables [positions, head_dim/2]), writes q as bf16 [tokens, heads * head_dim] and appends
// k and v at (slots[t], positions[t]) of this layer's vAttention tensors.
// grid = token capacity (blocks >= *count return), blockDim 128.
extern "C" __global__ void layer_rope_append(const float* __restrict__ qkv, const float* __restrict__ cos_table,
                                             const float* __restrict__ sin_table,
                                             const int* __restrict__ slots, const int* __restrict__ positions,
                                             const int* __restrict__ count, __nv_bfloat16* __restrict__ q_out,
                                             __nv_bfloat16* __restrict__ k_cache,
                                             __nv_bfloat16* __restrict__ v_cache, long long slot_stride_bytes,
                                             int heads, int kv_heads, int head_dim) {
  const int t = blockIdx.x;
  if (t >= *count) {
    return;
  }
  const int half = head_dim / 2;
  const int position = positions[t];
  const float* cos_row = cos_table + static_cast<long long>(position) * half;
  const float* sin_row = sin_table + static_cast<long long>(position) * half;
  const int q_dim = heads * head_dim;
  const int kv_dim = kv_heads * head_dim;
  const float* row = qkv + static_cast<long long>(t) * (q_dim + 2 * kv_dim);
  const long long cache_offset =
      (static_cast<long long>(slots[t]) * slot_stride_bytes) / 2 + static_cast<long long>(position) * kv_dim;

  // Query and key heads together: index h < heads is a query head, the rest are key heads.
  for (int i = threadIdx.x; i < (heads + kv_heads) * half; i += blockDim.x) {
    const int h = i / half;
    const int pair = i % half;
    const float* head = row + h * head_dim;  // key heads follow the query heads in the fused row
    const float a = head[pair];
    const float b = head[pair + half];
    const float c = cos_row[pair];
    const float s = sin_row[pair];
    const __nv_bfloat16 first = __float2bfloat16_rn(a * c - b * s);
    const __nv_bfloat16 second = __float2bfloat16_rn(b * c + a * s);
    if (h < heads) {
      __nv_bfloat16* q = q_out + static_cast<long long>(t) * q_dim + h * head_dim;
      q[pair] = first;
      q[pair + half] = second;
    } else {
      __nv_bfloat16* k = k_cache + cache_offset + (h - heads) * head_dim;
      k[pair] = first;
      k[pair + half] = second;
    }
  }
  const float* v = row + q_dim + kv_dim;
  for (int i = threadIdx.x; i < kv_dim; i += blockDim.x) {
    v_cache[cache_offset + i] = __float2bfloat16_rn(v[i]);
  }
}
