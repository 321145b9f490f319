// Hopper (sm_90a) asynchronous primitives as thin inline-PTX wrappers: mbarriers, TMA tensor loads, wgmma with
// both operands in shared memory or A in registers, and warpgroup register reallocation. Each wrapper says which
// rule of the PTX ISA it exists for; the kernels that use them (gemm_wgmma.cuh, megakernel/mk_mma.cuh) say why
// each call sits where it does.
//
// Proxies: ordinary loads and stores act through the generic proxy; TMA (cp.async.bulk.tensor) and wgmma's
// shared-memory operand reads act through the async proxy. Ordering between the two needs fence.proxy.async;
// ordering async-proxy writes (TMA) before async-proxy reads (wgmma) on another thread goes through the mbarrier
// that the TMA completes (complete_tx) and the reader waits on.
#pragma once

#include <cuda.h>
#include <stdint.h>

namespace sm90 {

// ---- mbarrier (64-bit object in shared memory; addresses are 32-bit shared-window addresses) ----

// Sets the expected arrival count of every phase; the barrier starts in phase 0, incomplete.
__device__ __forceinline__ void mbarrier_init(uint32_t bar, uint32_t arrivals) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(arrivals) : "memory");
}

// After the inits and before any other thread or the TMA unit uses the barriers: the inits are generic-proxy
// writes. fence.mbarrier_init releases them (the form the ISA provides for this; .cluster is its only scope),
// fence.proxy.async orders them before the async proxy's complete_tx updates. A __syncthreads must follow so
// the other threads' first wait comes after the init.
__device__ __forceinline__ void fence_barrier_init() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// One arrival (release semantics at CTA scope: this thread's earlier accesses happen before the phase flips).
__device__ __forceinline__ void mbarrier_arrive(uint32_t bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}

// One arrival that also raises the phase's pending transaction count by `bytes`: the phase cannot complete
// until the TMA copies signalling this barrier have delivered that many bytes (complete_tx).
__device__ __forceinline__ void mbarrier_arrive_expect_tx(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}

// Blocks until the phase of parity `parity` has completed (acquire semantics at CTA scope: what the arrivals
// released, and the bytes the TMA delivered, are visible afterwards). try_wait suspends the thread for a
// hardware-chosen time before reporting "not yet", so the loop does not hammer shared memory.
// Parity convention: a barrier is in phase 0 after init; waiting on parity 1 then returns at once (the phase
// "before" phase 0 counts as complete). That is how a producer's first pass over empty slots waits for nothing.
__device__ __forceinline__ void mbarrier_wait(uint32_t bar, uint32_t parity) {
  uint32_t done;
  do {
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
        "selp.u32 %0, 1, 0, p;\n"
        "}\n"
        : "=r"(done)
        : "r"(bar), "r"(parity)
        : "memory");
  } while (!done);
}

// ---- TMA ----

// Pulls the tensor map (a __grid_constant__ kernel parameter) into the descriptor cache ahead of first use.
__device__ __forceinline__ void prefetch_tensor_map(const CUtensorMap* map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
}

// Copies the box at element coordinates (x = innermost, y) of a 2-D tensor map into shared memory at `dst`,
// arranged as the map's swizzle mode says, and signals complete_tx(box bytes) on `bar`. Elements outside the
// tensor's bounds are written as zeros and still count towards the bytes. `map` must point at a kernel parameter
// declared __grid_constant__ (or global memory), never at a local copy.
__device__ __forceinline__ void tma_load_2d(uint32_t dst, const CUtensorMap* map, int x, int y, uint32_t bar) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
      ::"r"(dst), "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(y), "r"(bar)
      : "memory");
}

// ---- warpgroup register reallocation (all 128 threads of a warpgroup execute it together) ----

// Lowers this warpgroup's per-thread register limit to R, returning the rest to the CTA's pool.
template <int R>
__device__ __forceinline__ void release_registers() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(R));
}

// Raises this warpgroup's per-thread register limit to R from the pool (blocks until the pool has them).
template <int R>
__device__ __forceinline__ void claim_registers() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(R));
}

// ---- wgmma ----

// Shared-memory matrix descriptor of a K-major bf16 tile stored as rows of 64 elements (128 bytes) in the
// 128-byte swizzle layout that a TMA with CU_TENSOR_MAP_SWIZZLE_128B writes: 16-byte chunk c of row r sits at
// byte r * 128 + ((c ^ (r % 8)) * 16) from a 1024-byte aligned base (the XOR takes address bits 7..9 into bits
// 4..6, so it is a function of the absolute address; both the TMA and wgmma apply it that way).
//   bits  0-13  start address >> 4 (shared-window address; < 256 KiB, so 14 bits suffice)
//   bits 16-29  leading-dimension byte offset >> 4: the K-direction step between core matrices. A wgmma's K
//               extent (16 bf16 = 32 bytes) lies inside one 128-byte swizzled row, so the hardware never
//               steps along K with it; it is ignored for swizzled K-major layouts and set to 1 as customary.
//   bits 32-45  stride-dimension byte offset >> 4: from one group of 8 rows (M or N) to the next = 8 * 128
//               = 1024 bytes -> 64.
//   bits 49-51  base offset: 0, because every tile starts on a 1024-byte boundary (the swizzle repeat).
//   bits 62-63  layout: 1 = 128-byte swizzle (2 = 64 B, 3 = 32 B, 0 = none).
// Moving to the k-th 16-element slice of the 64-wide tile adds k * 32 bytes to the start address (+2k in
// the encoded field): the hardware applies the swizzle XOR to the resulting addresses, which matches where
// the TMA put chunks 2k and 2k + 1 of every row.
__device__ __forceinline__ uint64_t sw128_kmajor_descriptor(uint32_t smem_address) {
  return static_cast<uint64_t>((smem_address & 0x3FFFFu) >> 4) | (static_cast<uint64_t>(1) << 16) |
         (static_cast<uint64_t>(1024 >> 4) << 32) | (static_cast<uint64_t>(1) << 62);
}

// `desc` moved on by `units` of 16 bytes: a 32-bit add to the start-address field, which never carries out of its
// 14 bits for shared-memory addresses (< 256 KiB), so the upper word stays as it is and is not recomputed per wgmma.
__device__ __forceinline__ uint64_t descriptor_plus(uint64_t desc, uint32_t units) {
  return (desc & 0xFFFFFFFF00000000ull) | static_cast<uint32_t>(static_cast<uint32_t>(desc) + units);
}

// Required before the first wgmma of a batch: orders this thread's earlier register accesses (in particular
// to the accumulators: the epilogue's reads of the previous tile) before the async wgmma reads and writes them.
// Not needed between wgmmas of one batch on the same accumulators (the hardware orders those).
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }

// Closes the wgmmas issued since the last commit into one group that wgmma_wait counts.
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }

// Waits until at most N committed groups are still running: only then may their accumulators be read and the
// shared memory they read be overwritten.
template <int N>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}

// The compiler does not know that a wgmma keeps writing its accumulators after the asm statement issuing it
// returns. This empty asm "rewrites" each accumulator at the point it is placed, so no instruction that reads
// or writes them can be moved across it: placed after wgmma_wait and before wgmma_fence.
template <int R>
__device__ __forceinline__ void pin_accumulators(float (&d)[R]) {
#pragma unroll
  for (int i = 0; i < R; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

#define SM90_ACC8(d, i)                                                                                   \
  "+f"(d[(i) + 0]), "+f"(d[(i) + 1]), "+f"(d[(i) + 2]), "+f"(d[(i) + 3]), "+f"(d[(i) + 4]), "+f"(d[(i) + 5]), \
      "+f"(d[(i) + 6]), "+f"(d[(i) + 7])
#define SM90_ACC32(d, i) SM90_ACC8(d, i), SM90_ACC8(d, (i) + 8), SM90_ACC8(d, (i) + 16), SM90_ACC8(d, (i) + 24)
#define SM90_REGS_0_31                                                                                        \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, " \
  "%23, %24, %25, %26, %27, %28, %29, %30, %31"
#define SM90_REGS_32_63                                                                                        \
  "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, " \
  "%53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
#define SM90_REGS_64_95                                                                                        \
  "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, " \
  "%85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95"
#define SM90_REGS_96_127                                                                                          \
  "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, "    \
  "%114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127"

// D[64 x N] (+)= A[64 x 16] · B[16 x N], fp32 accumulators, bf16 A and B read from shared memory through the
// descriptors, both K-major (imm-trans-a = imm-trans-b = 0), no negation (imm-scale-a = imm-scale-b = 1).
// accumulate == 0 ignores the old D (scale-d false): the first k-step of a tile needs no zeroed registers.
// Accumulator layout (per warp w of the warpgroup, lane l, i = 0 .. N/8 - 1):
//   d[4i], d[4i+1]   = row 16w + l/4,     columns 8i + 2(l%4), 8i + 2(l%4) + 1
//   d[4i+2], d[4i+3] = row 16w + l/4 + 8, the same two columns
template <int N>
__device__ __forceinline__ void wgmma_m64k16(float (&d)[N / 2], uint64_t a, uint64_t b, uint32_t accumulate);

// One specialisation per N: REGS lists the accumulator operands %0 .. %(N/2 - 1), A, B and SCALE_D name the
// operands that follow them, and the variadic part gives the accumulators' "+f" constraints.
#define SM90_WGMMA_M64K16(N, REGS, A, B, SCALE_D, ...)                                                          \
  template <>                                                                                                  \
  __device__ __forceinline__ void wgmma_m64k16<N>(float(&d)[(N) / 2], uint64_t a, uint64_t b,                  \
                                                  uint32_t accumulate) {                                       \
    asm volatile("{\n"                                                                                         \
                 ".reg .pred p;\n"                                                                             \
                 "setp.ne.b32 p, " SCALE_D ", 0;\n"                                                            \
                 "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32.bf16.bf16 {" REGS "}, " A ", " B                \
                 ", p, 1, 1, 0, 0;\n"                                                                          \
                 "}\n"                                                                                         \
                 : __VA_ARGS__                                                                                 \
                 : "l"(a), "l"(b), "r"(accumulate));                                                           \
  }

SM90_WGMMA_M64K16(128, SM90_REGS_0_31 ", " SM90_REGS_32_63, "%64", "%65", "%66", SM90_ACC32(d, 0), SM90_ACC32(d, 32))
SM90_WGMMA_M64K16(192, SM90_REGS_0_31 ", " SM90_REGS_32_63 ", " SM90_REGS_64_95, "%96", "%97", "%98",
                  SM90_ACC32(d, 0), SM90_ACC32(d, 32), SM90_ACC32(d, 64))
SM90_WGMMA_M64K16(256, SM90_REGS_0_31 ", " SM90_REGS_32_63 ", " SM90_REGS_64_95 ", " SM90_REGS_96_127, "%128",
                  "%129", "%130", SM90_ACC32(d, 0), SM90_ACC32(d, 32), SM90_ACC32(d, 64), SM90_ACC32(d, 96))

// D[64 x 16] (+)= A[64 x 16] · B[16 x 16] with A in registers (the "RS" form) and B K-major through a descriptor:
// each warp w of the warpgroup holds rows 16w..16w+15 of A as mma.m16n8k16's A fragment (a[0..3]: rows l/4 and
// l/4 + 8, columns 2(l%4) and 2(l%4) + 8, as ldmatrix.x4 of the four 8x8 quarters loads them). D's layout is
// wgmma_m64k16's with N = 16. The A registers are read asynchronously too: they must keep their values until
// a wgmma_wait covers this wgmma, and a wgmma_fence must separate their last write from it.
__device__ __forceinline__ void wgmma_m64n16k16_rs(float (&d)[8], const uint32_t (&a)[4], uint64_t b,
                                                   uint32_t accumulate) {
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "setp.ne.b32 p, %13, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n16k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7}, {%8, %9, %10, %11}, "
      "%12, p, 1, 1, 0;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(accumulate));
}

// D[64 x 64] (+)= A[64 x 16] · B[16 x 64], A in registers as for wgmma_m64n16k16_rs, B K-major through a
// descriptor; D's layout is wgmma_m64k16's with N = 64.
__device__ __forceinline__ void wgmma_m64n64k16_rs(float (&d)[32], const uint32_t (&a)[4], uint64_t b,
                                                   uint32_t accumulate) {
  asm volatile("{\n"
               ".reg .pred p;\n"
               "setp.ne.b32 p, %37, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {" SM90_REGS_0_31
               "}, {%32, %33, %34, %35}, %36, p, 1, 1, 0;\n"
               "}\n"
               : SM90_ACC32(d, 0)
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(accumulate));
}

// D[64 x 128] (+)= A[64 x 16] · B[16 x 128], A in registers as for wgmma_m64n16k16_rs, B K-major through a
// descriptor; D's layout is wgmma_m64k16's with N = 128.
__device__ __forceinline__ void wgmma_m64n128k16_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t b,
                                                    uint32_t accumulate) {
  asm volatile("{\n"
               ".reg .pred p;\n"
               "setp.ne.b32 p, %69, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {" SM90_REGS_0_31 ", " SM90_REGS_32_63
               "}, {%64, %65, %66, %67}, %68, p, 1, 1, 0;\n"
               "}\n"
               : SM90_ACC32(d, 0), SM90_ACC32(d, 32)
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(accumulate));
}

#undef SM90_WGMMA_M64K16
#undef SM90_ACC8
#undef SM90_ACC32
#undef SM90_REGS_0_31
#undef SM90_REGS_32_63
#undef SM90_REGS_64_95
#undef SM90_REGS_96_127

}  // namespace sm90
