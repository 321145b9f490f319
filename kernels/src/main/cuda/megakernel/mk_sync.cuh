// Synchronisation of the megakernel: consumer-warp barriers, cross-SM counters with epochs, the
// watchdog, and the shared-memory page ring's mbarriers and bulk copies.
//
// Memory ordering between SMs (PTX memory model, gpu scope):
//   producer: every consumer thread stores its outputs, then the consumer barrier; then thread 0 alone
//             runs __threadfence() (fence.sc.gpu) and adds 1 to the counter. The barrier orders every
//             thread's stores before thread 0's fence (causality order is transitive: CTA-scope
//             synchronisation, then a gpu-scope release; cooperative groups' grid sync relies on the
//             same), so one fence per instruction does what one per thread did.
//   consumer: thread 0 spins on ld.acquire.gpu until the counter reaches its target, then the consumer
//             barrier orders the acquire before every thread's loads. Those loads are ld.global.cg
//             (L2, never the SM's non-coherent L1/texture path), so no stale line can be read.
// Arrival counters (last arriver merges) use atom.acq_rel.gpu: release of the arriver's partials,
// acquire of everyone else's for the last one.
// The CUDA-core buckets' O_PROJ and DOWN store the residual in flagged words instead, and add to their counter
// without the fence (mk_flagged.cuh).
//
// Async proxy: weights travel by cp.async.bulk, and no thread writes weights during the kernel. The
// tensor-core path's activation slices also do, and other SMs wrote them in this launch with generic
// stores: the thread that issues their copies runs fence.proxy.async.global after the dependency's
// acquire (and the consumer barrier that follows it), before its first copy. The page ring's reuse is
// ordered by mbarriers:
// every consumer thread's generic reads of a page happen before its own release-arrive on the page's empty
// barrier (every reader arrives itself: with one lane per warp arriving after a __syncwarp, compute-sanitizer's
// racecheck reported the other lanes' reads as a WAR hazard against the refill; 32 arrivals per warp cost
// nothing measurable on an H100); the loader's acquire-wait on that barrier happens before its next bulk copy
// into the page.
//
// mbarrier phases: page p of a launch uses slot p % pages in round p / pages. "full" completes once per
// round (the loader's arrive.expect_tx plus the copy's complete_tx); consumers wait for parity
// round & 1. "empty" completes once per round when all consumer threads arrived; the loader waits for
// parity (round & 1) ^ 1, which a fresh barrier reports complete, so round 0 does not wait.
#pragma once
#include "mk_common.cuh"

namespace mk {

// Named barrier 1: the consumer warps only (the loader warpgroup never joins it).
__device__ __forceinline__ void consumer_sync() { asm volatile("bar.sync 1, %0;" ::"n"(kConsumerThreads) : "memory"); }

// Consumer barrier that also tells every consumer thread whether any of them passed true.
__device__ __forceinline__ bool consumer_any(bool value) {
  unsigned out;
  asm volatile(
      "{ .reg .pred p, q; setp.ne.u32 p, %1, 0; bar.red.or.pred q, 1, %2, p; selp.u32 %0, 1, 0, q; }"
      : "=r"(out)
      : "r"(value ? 1u : 0u), "n"(kConsumerThreads)
      : "memory");
  return out != 0;
}

__device__ __forceinline__ unsigned load_acquire(const unsigned* p) {
  unsigned v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}

__device__ __forceinline__ unsigned add_acq_rel(unsigned* p, unsigned v) {
  unsigned old;
  asm volatile("atom.acq_rel.gpu.global.add.u32 %0, [%1], %2;" : "=r"(old) : "l"(p), "r"(v) : "memory");
  return old;
}

// What the watchdog needs to know: its budget, where to report, and which launch this is.
struct Watchdog {
  long long budget;  // clock64 cycles one spin may last
  Output* out;
  unsigned tag;
  int block;

  __device__ bool aborted() const;

  // Records the first failure of this launch (later ones only raise the abort flag).
  __device__ void fail(int code, int instruction, int counter, unsigned value, unsigned target) const {
    unsigned* t = &out->error_tag;
    if (atomicExch(t, tag) != tag) {
      out->error_code = code;
      out->error_block = block;
      out->error_instruction = instruction;
      out->error_counter = counter;
      out->error_value = value;
      out->error_target = target;
    }
    __threadfence();
    atomicExch(&out->abort_tag, tag);
  }
};

__device__ __forceinline__ bool Watchdog::aborted() const { return load_acquire(&out->abort_tag) == tag; }

// Spins until *counter >= target. False when the budget ran out (recorded) or another block aborted.
__device__ __forceinline__ bool wait_counter(const unsigned* counter, unsigned target, const Watchdog& w,
                                             int instruction, int index) {
  const long long start = clock64();
  for (unsigned spins = 0;; ++spins) {
    const unsigned v = load_acquire(counter);
    if (v >= target) return true;
    if ((spins & 63) == 63) {
      if (w.aborted()) return false;
      if (clock64() - start > w.budget) {
        w.fail(kCounterTimeout, instruction, index, v, target);
        return false;
      }
    }
  }
}

__device__ __forceinline__ uint32_t smem_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void mbarrier_init(unsigned long long* bar, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(smem_address(bar)), "r"(count) : "memory");
}

// Makes initialised mbarriers visible to the async proxy (the bulk copies complete on them).
__device__ __forceinline__ void mbarrier_init_fence() {
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
}

__device__ __forceinline__ void mbarrier_arrive(unsigned long long* bar) {
  asm volatile("mbarrier.arrive.release.cta.shared::cta.b64 _, [%0];" ::"r"(smem_address(bar)) : "memory");
}

__device__ __forceinline__ void mbarrier_arrive_expect_tx(unsigned long long* bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.release.cta.shared::cta.b64 _, [%0], %1;" ::"r"(smem_address(bar)),
               "r"(bytes)
               : "memory");
}

__device__ __forceinline__ bool mbarrier_test_parity(unsigned long long* bar, unsigned parity) {
  unsigned done;
  asm volatile(
      "{ .reg .pred p; mbarrier.try_wait.parity.acquire.cta.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
      : "=r"(done)
      : "r"(smem_address(bar)), "r"(parity)
      : "memory");
  return done != 0;
}

// Waits for the phase of the given parity to complete. Gives up (false) when the block aborts or, if
// budget > 0, when it runs out.
__device__ __forceinline__ bool mbarrier_wait(unsigned long long* bar, unsigned parity, Header& h,
                                              long long budget) {
  const long long start = clock64();
  while (!mbarrier_test_parity(bar, parity)) {
    if (h.block_abort) return false;
    if (budget > 0 && clock64() - start > budget) return false;
  }
  return true;
}

// L2 policy for weights: read once per step, so they should not evict activations.
__device__ __forceinline__ unsigned long long evict_first_policy() {
  unsigned long long policy;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
  return policy;
}

// One 1-D bulk copy global -> shared (16-byte aligned, size a multiple of 16) completing on `bar`.
__device__ __forceinline__ void bulk_copy(void* dst, const void* src, unsigned bytes, unsigned long long* bar,
                                          unsigned long long policy) {
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1], %2, [%3], %4;"
      ::"r"(smem_address(dst)), "l"(src), "r"(bytes), "r"(smem_address(bar)), "l"(policy)
      : "memory");
}

// The same for activations written earlier in this launch (generic-proxy stores): the issuing thread must
// have run proxy_fence_global() after the acquire that made them visible to it.
__device__ __forceinline__ void bulk_copy(void* dst, const void* src, unsigned bytes, unsigned long long* bar) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];"
               ::"r"(smem_address(dst)), "l"(src), "r"(bytes), "r"(smem_address(bar))
               : "memory");
}

// Orders this thread's view of global memory (generic proxy) before its later bulk copies (async proxy).
__device__ __forceinline__ void proxy_fence_global() { asm volatile("fence.proxy.async.global;" ::: "memory"); }

// Orders this thread's writes to shared memory (generic proxy, cp.async included) before later bulk copies
// into the same bytes (async proxy).
__device__ __forceinline__ void proxy_fence_shared() { asm volatile("fence.proxy.async.shared::cta;" ::: "memory"); }

// Starts moving `bytes` (a multiple of 16) of global memory into L2; tracked by nothing.
__device__ __forceinline__ void prefetch_l2(const void* src, unsigned bytes) {
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(src), "r"(bytes) : "memory");
}

}  // namespace mk
