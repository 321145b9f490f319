// Staging probe: how fast can one SM stage activation slices from L2 into shared memory, and how much
// does streaming weights from HBM at the same time slow that down?
//
// Why it exists: the megakernel's tensor-core path (kernels/src/main/cuda/megakernel/mk_mma.cuh) stages
// its batch rows slice by slice, one bulk copy per row group completing on that group's own mbarrier,
// two slices deep, while a loader warp streams 16 KiB weight pages. This probe isolates that pattern
// (nothing else runs) and backs both the design choice (bulk copies over cp.async or plain loads) and
// the numbers quoted in docs/perf/megakernel.md ("Why bulk copies: the staging probe").
//
// Setup, per configuration: one 288-thread block per SM, 8 consumer warps in GROUPS row groups plus
// one loader warp. Activations are R rows x 8192 bf16 columns stored slice after slice, [slice][row][SLICE],
// so a row group's rows of a slice are contiguous. They stay in L2 (4 MiB, read by every SM). Weights
// are 4 GiB, far larger than L2, so every page comes from HBM. Time is %globaltimer inside the kernel,
// per block, averaged over blocks; the median of 20 launches is printed.
//
// Build and run (H100):
//   nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o staging_probe kernels/probes/staging_probe.cu && ./staging_probe
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

// Any CUDA error ends the probe with a non-zero exit status.
#define CUDA_CHECK(call)                                                                                     \
  do {                                                                                                       \
    const cudaError_t err_ = (call);                                                                         \
    if (err_ != cudaSuccess) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, cudaGetErrorString(err_)); exit(1); } \
  } while (0)

constexpr int kColumns = 8192;            // DOWN's input width in Llama 3.2 1B: 1 MiB per SM at 64 rows
constexpr int kMaxRows = 256;
constexpr int kBf16Bytes = 2;
constexpr int kStages = 2;                // slices in shared memory, as in mk_mma.cuh
constexpr int kConsumerThreads = 256;     // 8 warps
constexpr int kLoaderWarp = 8;
constexpr int kBlockThreads = kConsumerThreads + 32;
constexpr int kPageBytes = 16384;
constexpr int kMaxPagesInFlight = 9;
constexpr long long kWeightBytes = 4ll << 30;
constexpr int kMaxDynamicSmem = 232448;   // H100 opt-in limit per block
constexpr int kLaunches = 20;
constexpr int kConsumersBarrier = 1;      // named barrier ids as in mk_mma.cuh; row groups use 2 + group

enum class Staging { Bulk, CpAsync, LoadStore };
const char* staging_name(Staging m) { return m == Staging::Bulk ? "bulk" : m == Staging::CpAsync ? "cp.async" : "ld+st"; }

struct BlockResult { unsigned long long staging_ns, weight_pages, weight_ns; };

template <int R, int GROUPS, int SLICE>
struct Shape {
  static constexpr int kGroups = GROUPS;
  static constexpr int kGroupRows = R / GROUPS;
  static constexpr int kGroupThreads = kConsumerThreads / GROUPS;
  static constexpr int kSliceBytes = R * SLICE * kBf16Bytes;
  static constexpr int kGroupBytes = kGroupRows * SLICE * kBf16Bytes;
  static constexpr int kSlices = kColumns / SLICE;
};

// ---- PTX wrappers ----
__device__ __forceinline__ uint32_t smem_addr(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }
__device__ __forceinline__ unsigned long long global_timer() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));  // ns, comparable across SMs
  return t;
}
__device__ __forceinline__ void mbar_init(uint64_t* bar) { asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(smem_addr(bar)) : "memory"); }
__device__ __forceinline__ void mbar_expect_bytes(uint64_t* bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.release.cta.shared::cta.b64 _, [%0], %1;" ::"r"(smem_addr(bar)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_wait(uint64_t* bar, unsigned parity) {
  unsigned done = 0;
  while (!done)
    asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.acquire.cta.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
                 : "=r"(done) : "r"(smem_addr(bar)), "r"(parity) : "memory");
}
__device__ __forceinline__ void bulk_copy(void* dst, const void* src, unsigned bytes, uint64_t* bar) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];"
               ::"r"(smem_addr(dst)), "l"(src), "r"(bytes), "r"(smem_addr(bar)) : "memory");
}
__device__ __forceinline__ void cp_async16(void* dst, const void* src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(smem_addr(dst)), "l"(src) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory"); }
__device__ __forceinline__ void load_store16(void* dst, const void* src) {
  uint4 x;
  asm volatile("ld.global.cg.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(x.x), "=r"(x.y), "=r"(x.z), "=r"(x.w) : "l"(src));
  *reinterpret_cast<uint4*>(dst) = x;
}
__device__ __forceinline__ void named_barrier(int id, int threads) { asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(threads) : "memory"); }

// ---- loader warp: keep `in_flight` weight pages in flight until the consumers are done ----
__device__ void stream_weights(const uint8_t* weights, uint8_t* ring, uint64_t* page_full, int in_flight,
                               const volatile int* consumers_done, BlockResult* out) {
  // Blocks take turns page by page through the 4 GiB and wrap, so no page is read twice while it may be in L2.
  const long long pages_per_block = kWeightBytes / ((long long)gridDim.x * kPageBytes);
  auto page = [&](unsigned k) { return weights + ((long long)(k % pages_per_block) * gridDim.x + blockIdx.x) * kPageBytes; };
  const unsigned long long t0 = global_timer();
  unsigned n = 0;
  for (; !*consumers_done; ++n) {
    const int slot = n % in_flight;
    if (n >= (unsigned)in_flight) mbar_wait(&page_full[slot], (n / in_flight - 1) & 1);  // slot's previous page landed
    mbar_expect_bytes(&page_full[slot], kPageBytes);
    bulk_copy(ring + slot * kPageBytes, page(n), kPageBytes, &page_full[slot]);
  }
  // Drain: a block must not exit with bulk copies still writing its shared memory.
  for (unsigned p = n > (unsigned)in_flight ? n - in_flight : 0; p < n; ++p) mbar_wait(&page_full[p % in_flight], (p / in_flight) & 1);
  out->weight_pages = n;
  out->weight_ns = global_timer() - t0;
}

// ---- consumers: stage slice s of this row group into buffer s % kStages ----
template <Staging M, class S>
__device__ void stage_slice(const uint8_t* act, uint8_t* buffers, uint64_t* full, int s, int group, int thread_in_group) {
  if (s >= S::kSlices) {
    if constexpr (M == Staging::CpAsync) cp_async_commit();  // empty group: keeps wait_group's count uniform
    return;
  }
  const uint8_t* src = act + (size_t)s * S::kSliceBytes + group * S::kGroupBytes;
  uint8_t* dst = buffers + (s % kStages) * S::kSliceBytes + group * S::kGroupBytes;
  if constexpr (M == Staging::Bulk) {
    if (thread_in_group == 0) {
      uint64_t* bar = &full[(s % kStages) * S::kGroups + group];
      mbar_expect_bytes(bar, S::kGroupBytes);
      bulk_copy(dst, src, S::kGroupBytes, bar);
    }
  } else {
    for (int v = thread_in_group * 16; v < S::kGroupBytes; v += S::kGroupThreads * 16) {
      if constexpr (M == Staging::CpAsync) cp_async16(dst + v, src + v);
      else load_store16(dst + v, src + v);
    }
    if constexpr (M == Staging::CpAsync) cp_async_commit();
  }
}

template <Staging M, class S>
__device__ void wait_staged(uint64_t* full, int q, int group) {
  if constexpr (M == Staging::Bulk) mbar_wait(&full[(q % kStages) * S::kGroups + group], (q / kStages) & 1);
  if constexpr (M == Staging::CpAsync) cp_async_wait<kStages - 2>();
  // ld+st: this thread's stores are already issued; the group barrier makes them visible.
  // Every warp of the group is past slice q - 1, so its buffer can be refilled.
  if constexpr (S::kGroupThreads == 32) __syncwarp();
  else named_barrier(2 + group, S::kGroupThreads);
}

template <Staging M, class S>
__device__ unsigned consume_slices(const uint8_t* act, uint8_t* buffers, uint64_t* full) {
  const int warp = threadIdx.x / 32, group = warp % S::kGroups;  // a group's warps: group, group + kGroups, ...
  const int thread_in_group = (warp / S::kGroups) * 32 + threadIdx.x % 32;
  unsigned acc = 0;
  for (int s = 0; s < kStages - 1; ++s) stage_slice<M, S>(act, buffers, full, s, group, thread_in_group);
  for (int q = 0; q < S::kSlices; ++q) {
    wait_staged<M, S>(full, q, group);
    stage_slice<M, S>(act, buffers, full, q + kStages - 1, group, thread_in_group);
    // Read the group's whole slice once, the shared-memory volume of the ldmatrix loads it stands for.
    const uint32_t* words = reinterpret_cast<const uint32_t*>(buffers + (q % kStages) * S::kSliceBytes + group * S::kGroupBytes);
    for (int k = thread_in_group; k < S::kGroupBytes / 4; k += S::kGroupThreads) acc ^= words[k];
  }
  return acc;
}

template <Staging M, int R, int GROUPS, int SLICE>
__global__ void __launch_bounds__(kBlockThreads, 1)
staging_kernel(const uint8_t* act, const uint8_t* weights, int pages_in_flight, BlockResult* results, unsigned* sink) {
  using S = Shape<R, GROUPS, SLICE>;
  static_assert(GROUPS <= 8 && S::kGroupBytes % 16 == 0, "one warp or more per row group, 16-byte copies");
  extern __shared__ __align__(128) uint8_t smem[];  // kStages slice buffers, then the page ring
  __shared__ uint64_t slice_full[kStages * GROUPS];  // [stage][group]
  __shared__ uint64_t page_full[kMaxPagesInFlight];
  __shared__ volatile int consumers_done;
  if (threadIdx.x == 0) {
    for (int i = 0; i < kStages * GROUPS; ++i) mbar_init(&slice_full[i]);
    for (int i = 0; i < kMaxPagesInFlight; ++i) mbar_init(&page_full[i]);
    consumers_done = 0;
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");  // visible to the bulk-copy unit
  }
  __syncthreads();
  if (threadIdx.x / 32 == kLoaderWarp) {
    if (threadIdx.x % 32 == 0 && pages_in_flight > 0)
      stream_weights(weights, smem + kStages * S::kSliceBytes, page_full, pages_in_flight, &consumers_done, &results[blockIdx.x]);
    return;
  }
  const unsigned long long t0 = global_timer();
  const unsigned acc = consume_slices<M, S>(act, smem, slice_full);
  named_barrier(kConsumersBarrier, kConsumerThreads);
  const unsigned long long t1 = global_timer();
  if (threadIdx.x == 0) {
    results[blockIdx.x].staging_ns = t1 - t0;
    consumers_done = 1;
  }
  if (acc == 0x12345678) *sink = acc;  // keeps the reads from being optimised away
}

// ---- host ----
struct Buffers { const uint8_t* act; const uint8_t* weights; BlockResult* results; unsigned* sink; int grid; };

double median(std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }

template <Staging M, int R, int GROUPS, int SLICE>
void measure(const Buffers& b, int pages_in_flight) {
  using S = Shape<R, GROUPS, SLICE>;
  const int smem = kStages * S::kSliceBytes + pages_in_flight * kPageBytes;
  printf("%-9s R %3d  slice %2d KiB  stages %d  pages %d  ", staging_name(M), R, S::kSliceBytes / 1024, kStages, pages_in_flight);
  if (smem > kMaxDynamicSmem) { printf("skipped (%d bytes of shared memory)\n", smem); return; }
  auto kernel = staging_kernel<M, R, GROUPS, SLICE>;
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  std::vector<double> us_per_block, weight_gbps;
  std::vector<BlockResult> r(b.grid);
  for (int launch = 0; launch < kLaunches; ++launch) {
    kernel<<<b.grid, kBlockThreads, smem>>>(b.act, b.weights, pages_in_flight, b.results, b.sink);
    CUDA_CHECK(cudaGetLastError());
    CUDA_CHECK(cudaMemcpy(r.data(), b.results, b.grid * sizeof(BlockResult), cudaMemcpyDeviceToHost));
    double staging_ns = 0, pages = 0, weight_ns = 0;
    for (const BlockResult& x : r) { staging_ns += x.staging_ns; pages += x.weight_pages; weight_ns += x.weight_ns; }
    us_per_block.push_back(staging_ns / b.grid / 1e3);
    if (pages_in_flight > 0) weight_gbps.push_back(pages * kPageBytes / (weight_ns / b.grid));  // all SMs' bytes / mean time
  }
  const double us = median(us_per_block);
  printf("%8.2f us/block  %6.1f GB/s/SM", us, (double)R * kColumns * kBf16Bytes / (us * 1e3));
  if (pages_in_flight > 0) printf("  weights %6.0f GB/s total", median(weight_gbps));
  printf("\n");
}

template <Staging M, int R, int GROUPS, int SLICE>
void measure_all_page_counts(const Buffers& b) {
  for (int pages : {0, 1, 2, 4, 9}) measure<M, R, GROUPS, SLICE>(b, pages);
}

template <Staging M>
void measure_method(const Buffers& b) {
  // Row groups as in mk_mma.cuh: 4 groups of 16 rows at R = 64, 8 of 32 at R = 256.
  measure_all_page_counts<M, 64, 4, 128>(b);
  measure_all_page_counts<M, 64, 4, 256>(b);
  measure_all_page_counts<M, 64, 4, 512>(b);
  measure_all_page_counts<M, 256, 8, 64>(b);
  measure_all_page_counts<M, 256, 8, 128>(b);
}

int main() {
  Buffers b{};
  CUDA_CHECK(cudaDeviceGetAttribute(&b.grid, cudaDevAttrMultiProcessorCount, 0));
  const size_t act_bytes = (size_t)kMaxRows * kColumns * kBf16Bytes;
  uint8_t *act, *weights;  // contents do not matter, only where the bytes come from
  CUDA_CHECK(cudaMalloc(&act, act_bytes));
  CUDA_CHECK(cudaMemset(act, 0, act_bytes));
  CUDA_CHECK(cudaMalloc(&weights, kWeightBytes));
  CUDA_CHECK(cudaMemset(weights, 1, kWeightBytes));
  CUDA_CHECK(cudaMalloc(&b.results, b.grid * sizeof(BlockResult)));
  CUDA_CHECK(cudaMalloc(&b.sink, sizeof(unsigned)));
  b.act = act;
  b.weights = weights;
  printf("%d SMs, one block each; activation GB/s per SM, weight GB/s over all SMs\n", b.grid);
  measure_method<Staging::Bulk>(b);
  measure_method<Staging::CpAsync>(b);
  measure_method<Staging::LoadStore>(b);
  CUDA_CHECK(cudaDeviceSynchronize());
  return 0;
}
