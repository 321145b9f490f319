// The SAMPLE instruction: one row's token drawn from its logits with its temperature, top-k, top-p and
// min-p, by the same code as the standalone sampler (sampling.cuh) run in the block's consumer threads.
// Greedy rows have nothing to do here: the LM head's last block already picked their argmax.
#pragma once
#include "mk_matvec.cuh"

namespace mk {

// sampling.cuh's block: the consumer warps, their barrier, and logits read through L2 (other SMs wrote
// them in this launch; see mk_sync.cuh).
struct ConsumerBlock {
  static constexpr int kThreads = kConsumerThreads;
  static constexpr int kWarps = kConsumerWarps;
  __device__ static void sync() { consumer_sync(); }
  __device__ static float load(const float* p) { return __ldcg(p); }
};
static_assert(sizeof(sample_detail::Shared) <= kScratchBytes, "the sampler's shared state fits the scratch");

__device__ void run_sample(Context& c, const Instruction& in) {
  const Model& m = *c.m;
  sample_detail::Shared& sh = *reinterpret_cast<sample_detail::Shared*>(scratch(c.smem));
  const int b = in.row;
  const int token = sample_detail::sample_row<ConsumerBlock>(sh, m.logits + (size_t)b * m.vocab, (int)m.vocab,
                                                             sample_params(c.step, b));
  if (token >= 0) c.out->sampled[b] = token;
}

}  // namespace mk
