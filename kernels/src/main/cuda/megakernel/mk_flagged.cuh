// Flagged words: how the 1-row bucket hands the residual stream from O_PROJ and DOWN to the instructions that
// read it (GATE_UP, the next layer's QKV and O_PROJ, DOWN, the LM head) without a release fence.
//
// A word is 8 bytes: 4 bytes of data (an fp32 element) and, above them, the tag of the launch that wrote it (the
// watchdog's launch tag: never 0, and different for every launch of the backend whatever the bucket). An aligned
// 8-byte access is single-copy atomic in the PTX memory model, so a reader that sees this launch's tag in a word
// also sees the data stored with it. O_PROJ and DOWN still count on their phase's counter, but add to it with no
// fence before: the count only tells the readers when to look, and a word the count ran ahead of is asked for
// again until its tag comes. Why: the release fence, gpu-scope, waits for the block's weight page copies in
// flight (on an H100 at batch 1 the fences before O_PROJ's, GATE_UP's and DOWN's adds cost ~27 us per step,
// megakernel-trials.json release_fence_ceiling_at_4ba08a1). GATE_UP keeps its fence and plain bf16 output: its
// SiLU products as flagged pairs made DOWN's staging ~2 us slower per layer than the fence they saved.
// Every layer has words of its own (Model.flagged_residual) and each word is written once per launch, so a tag
// names one value.
//
// Only the 1-row bucket: with the same words the 2-row kernel ran 75-105 us slower per step (at 4c00dff with 180
// bytes of spill stores against 40), so the others keep the fp32 residual with red.add (mk_matvec.cuh).
//
// Reuse of the other buffers stays ordered: each flagged value is computed from the inputs its writer read, so
// those reads are done before any reader of the value, and everything after it, can start.
#pragma once
#include "mk_sync.cuh"

namespace mk {

// The buckets whose residual goes in flagged words, and how many rows of words a layer has (Model.flagged_residual).
template <int R>
constexpr bool kFlaggedResidual = R == 1;
constexpr int kFlaggedRows = 1;

// Which residual of a layer: after its O_PROJ, or after its DOWN.
enum ResidualStage : int { kAfterAttention = 0, kAfterMlp = 1 };

__device__ __forceinline__ unsigned long long* flagged_residual(const Model& m, int layer, ResidualStage stage,
                                                                int b) {
  return m.flagged_residual + (((size_t)layer * 2 + stage) * kFlaggedRows + b) * m.hidden;
}

// Whether an instruction's outputs go out in flagged words, with no fence before its counter add.
template <int R>
__device__ __forceinline__ bool hands_on_flagged(int op) {
  return kFlaggedResidual<R> && (op == kOProj || op == kDown);
}

__device__ __forceinline__ unsigned long long flag(unsigned data, unsigned tag) {
  return (unsigned long long)tag << 32 | data;
}

__device__ __forceinline__ bool carries(unsigned long long word, unsigned tag) { return (unsigned)(word >> 32) == tag; }

__device__ __forceinline__ bool carries(ulonglong2 pair, unsigned tag) {
  return carries(pair.x, tag) && carries(pair.y, tag);
}

__device__ __forceinline__ void store_flagged(unsigned long long* p, unsigned data, unsigned tag) {
  asm volatile("st.relaxed.gpu.global.u64 [%0], %1;" ::"l"(p), "l"(flag(data, tag)) : "memory");
}

__device__ __forceinline__ unsigned long long load_flagged(const unsigned long long* p) {
  unsigned long long v;
  asm volatile("ld.relaxed.gpu.global.u64 %0, [%1];" : "=l"(v) : "l"(p) : "memory");
  return v;
}

// Two adjacent words (16-byte aligned) in one access: a vector access is one single-copy atomic access per
// element, which is all a word needs.
__device__ __forceinline__ ulonglong2 load_flagged2(const unsigned long long* p) {
  ulonglong2 v;
  asm volatile("ld.relaxed.gpu.global.v2.u64 {%0, %1}, [%2];" : "=l"(v.x), "=l"(v.y) : "l"(p) : "memory");
  return v;
}

// A pair that needs no look: zeros, already tagged (rows past the step's count, vectors past the end).
__device__ __forceinline__ ulonglong2 tagged_zeros(unsigned tag) { return make_ulonglong2(flag(0, tag), flag(0, tag)); }

// The watchdog's record of a word that never carried the tag (its index in Model.flagged_residual); the block
// then runs on and exits at the next instruction boundary, as after a page that never landed.
__device__ __forceinline__ void flagged_timeout(const Watchdog& w, Header& h, unsigned index) {
  w.fail(kFlaggedTimeout, -1, 0, index, w.tag);
  h.block_abort = 1;
}

// Polls word p from a first look until it carries this launch's tag; gives up when the watchdog's budget runs out
// or this block or another one aborted.
__device__ __forceinline__ unsigned long long await_flagged(const unsigned long long* p, unsigned long long first_look,
                                                            const Watchdog& w, Header& h,
                                                            const unsigned long long* base) {
  if (carries(first_look, w.tag)) return first_look;
  const long long start = clock64();
  unsigned long long v = load_flagged(p);
  for (unsigned spins = 0; !carries(v, w.tag); ++spins) {
    if ((spins & 63) == 63 && (h.block_abort || w.aborted() || clock64() - start > w.budget)) {
      if (!h.block_abort && !w.aborted()) flagged_timeout(w, h, (unsigned)(p - base));
      h.block_abort = 1;
      break;
    }
    v = load_flagged(p);
  }
  return v;
}

// Polls the pairs look[0..N) (pair i: the two words at address(i), first looked at by the caller, all at once)
// until every word carries this launch's tag. Each round asks again for every pair not yet tagged, together: one
// trip to L2 per round, where awaiting them one after another took one trip per late pair. Gives up as
// await_flagged does.
template <int N, typename Address>
__device__ __forceinline__ void settle(ulonglong2 (&look)[N], Address address, const Watchdog& w, Header& h,
                                      const unsigned long long* base) {
  auto all_tagged = [&] {
    bool all = true;
#pragma unroll
    for (int i = 0; i < N; ++i) all &= carries(look[i], w.tag);
    return all;
  };
  if (all_tagged()) return;
  const long long start = clock64();
  for (unsigned round = 0;; ++round) {
#pragma unroll
    for (int i = 0; i < N; ++i) {
      if (!carries(look[i], w.tag)) look[i] = load_flagged2(address(i));
    }
    if (all_tagged()) return;
    if ((round & 15) == 15 && (h.block_abort || w.aborted() || clock64() - start > w.budget)) {
      if (!h.block_abort && !w.aborted()) {
        int late = 0;
#pragma unroll
        for (int i = N - 1; i >= 0; --i) late = carries(look[i], w.tag) ? late : i;
        flagged_timeout(w, h, (unsigned)(address(late) - base));
      }
      h.block_abort = 1;
      return;
    }
  }
}

// Four fp32 residual elements from two pairs of words.
__device__ __forceinline__ float4 flagged_float4(ulonglong2 lo, ulonglong2 hi) {
  return make_float4(__uint_as_float((unsigned)lo.x), __uint_as_float((unsigned)lo.y),
                     __uint_as_float((unsigned)hi.x), __uint_as_float((unsigned)hi.y));
}

}  // namespace mk
