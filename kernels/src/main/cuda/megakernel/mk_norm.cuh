// The NORM instructions of buckets above kMaxCoreRows: the RMSNorm of one batch row into m.normed (in the
// slice layout, ActivationLayout), once, for all the tensor-core matvec instructions that read it (QKV
// after NORM_ATTENTION, GATE_UP after NORM_MLP, LM_HEAD after NORM_FINAL). The CUDA-core path computes the
// norm while staging instead, which at 256 rows would read the whole fp32 residual (2 MB for hidden 2048)
// on every SM.
//
// Arithmetic as stage_normed and layer_rmsnorm: each thread sums its float4s k4 = tid, tid + 256, ...,
// the warps reduce with xor shuffles and the warp sums are added in warp order, so inv_rms is the graph
// path's to the bit; out = bf16(w * (x * inv_rms)). Layer 0's NORM_ATTENTION reads the embedding row of the
// token and seeds the fp32 residual with it. Every other NORM first adds the K pieces the phase before it
// stored (O_PROJ or DOWN, in.pieces of them): x = residual + (((piece 0 + piece 1) + ...), which it stores
// back as the new residual. That is the order in which mk_mma.cuh adds the graph path's split-K sums
// (kSplitSums), which matched the graph path to the bit.
#pragma once
#include "mk_matvec.cuh"

namespace mk {

// float4s per thread kept in registers between the two passes (hidden <= 4 * 256 * 4 = 4096); wider rows
// load the rest twice.
constexpr int kNormKept = 4;

__device__ void run_norm(Context& c, const Instruction& in) {
  const Model& m = *c.m;
  const int b = in.row;
  if (b >= c.step->count) return;  // a padded row: its outputs are never stored
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int K = (int)m.hidden, V = K / 4;
  const Layer& l = m.layer[in.layer];
  const __nv_bfloat16* weight = in.op == kNormAttention ? l.attn_norm : in.op == kNormMlp ? l.mlp_norm : m.final_norm;
  const uint2* w4 = reinterpret_cast<const uint2*>(weight);
  const bool from_embedding = in.op == kNormAttention && in.layer == 0;
  const uint2* embedding = reinterpret_cast<const uint2*>(m.embedding + (size_t)step_tokens(c.step)[b] * K);
  float4* residual = reinterpret_cast<float4*>(m.residual + (size_t)b * K);

  const float4* pieces = reinterpret_cast<const float4*>(m.residual_partial + (size_t)b * K);
  const size_t piece_stride = (size_t)c.layout.rows * V;  // float4s from one piece to the next
  auto load4 = [&](int k4) -> float4 {
    if (from_embedding) {
      const float4 v = bf16x4_to_float4(__ldg(embedding + k4));
      residual[k4] = v;
      return v;
    }
    float4 x = __ldcg(residual + k4);  // written by other SMs in this launch, as the pieces are
    if (in.pieces == 0) return x;
    float4 sum = __ldcg(pieces + k4);
    for (int p = 1; p < in.pieces; ++p) {
      const float4 v = __ldcg(pieces + p * piece_stride + k4);
      sum = make_float4(sum.x + v.x, sum.y + v.y, sum.z + v.z, sum.w + v.w);
    }
    x = make_float4(x.x + sum.x, x.y + sum.y, x.z + sum.z, x.w + sum.w);
    residual[k4] = x;
    return x;
  };
  auto add_squares = [](float& sum, float4 v) { sum += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w; };

  float4 kept[kNormKept];
  float squares = 0.f;
#pragma unroll
  for (int j = 0; j < kNormKept; ++j) {
    const int k4 = tid + j * kConsumerThreads;
    kept[j] = k4 < V ? load4(k4) : make_float4(0.f, 0.f, 0.f, 0.f);
    add_squares(squares, kept[j]);  // the zeros of missing elements leave the sum as it was
  }
  for (int k4 = tid + kNormKept * kConsumerThreads; k4 < V; k4 += kConsumerThreads) add_squares(squares, load4(k4));

  MatvecScratch& s = *reinterpret_cast<MatvecScratch*>(scratch(c.smem));
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) squares += __shfl_xor_sync(0xffffffffu, squares, o);
  if (lane == 0) s.sums[warp][0] = squares;
  consumer_sync();
  float total = 0.f;
#pragma unroll
  for (int w = 0; w < kConsumerWarps; ++w) total += s.sums[w][0];
  const float inv = rsqrtf(total / K + (float)m.eps);

  // Four elements 4k4.. share a 16-byte chunk, so they stay contiguous in the slice layout.
  auto out = [&](int k4) { return m.normed + c.layout.index(b, 4 * k4, K); };
#pragma unroll
  for (int j = 0; j < kNormKept; ++j) {
    const int k4 = tid + j * kConsumerThreads;
    if (k4 < V) store_normed(out(k4), 0, kept[j], __ldg(w4 + k4), inv, true);
  }
  for (int k4 = tid + kNormKept * kConsumerThreads; k4 < V; k4 += kConsumerThreads) {
    // The first pass stored this thread's residual elements (seeded or with the pieces added).
    store_normed(out(k4), 0, __ldcg(residual + k4), __ldg(w4 + k4), inv, true);
  }
}

}  // namespace mk
