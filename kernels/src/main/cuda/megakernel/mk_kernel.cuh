// The persistent decode kernel: grid = one block per instruction stream (one per SM), 8 consumer warps
// + a loader warpgroup per block, one launch per decode step. Instantiated per batch bucket (R rows) so the
// accumulators are sized at compile time: buckets up to kMaxCoreRows run their matvecs on CUDA cores
// (mk_matvec.cuh), larger ones on tensor cores after a NORM phase (mk_mma.cuh, mk_norm.cuh).
#pragma once
#include "mk_attention.cuh"
#include "mk_mma.cuh"
#include "mk_sample.cuh"

namespace mk {

// Timing (when `timing` is not null): thread 0 fills one record of kTimingWords per block and
// instruction (layout in mk_common.cuh); InstructionTimings.java sums them per opcode.
__device__ __forceinline__ unsigned long long* timing_record(unsigned long long* timing, int stride, int index) {
  return timing == nullptr ? nullptr : timing + ((size_t)blockIdx.x * stride + index) * kTimingWords;
}

// Inlined, as decode_step: nvcc made the 1-row bucket's a call once it polled flagged words, and the call spilled
// 152 bytes.
template <int R>
__device__ __forceinline__ void run_consumers(Context& c, const int* program, int first, int count,
                                              unsigned long long* timing, int timing_stride) {
  Header& h = header(c.smem);
  const int tid = threadIdx.x;
  const Instruction& in = h.current;
  for (int i = 0; i < count; ++i) {
    c.timing = tid == 0 ? timing_record(timing, timing_stride, i) : nullptr;
    record_time(c, kTimeStart);
    if (__ldg(program + (first + i) * kWords) == kAttention) {  // op, word 0
      prefetch_attention_keys(c, load_instruction(program, first + i));
    }
    bool failed = false;
    if (tid == 0) {  // the others last read h.current before the previous instruction's final barrier
      h.current = load_instruction(program, first + i);
      if (in.wait >= 0 && !(in.op == kSample && !row_samples(c.step, in.row))) {  // an idle SAMPLE waits for nothing
        const unsigned target = (c.epoch + 1) * (unsigned)in.wait_count;
        failed = !wait_counter(c.counters + in.wait, target, c.watchdog, first + i, in.wait);
      }
    }
    // Uniform decision: every consumer leaves together or none does (a lone exit would hang barrier 1).
    // The barrier also publishes h.current.
    if (consumer_any(failed || h.block_abort)) {
      if (tid == 0) h.block_abort = 1;  // releases the loader
      return;
    }
    record_time(c, kTimeReady);
    constexpr bool kNormPhases = R > kMaxCoreRows;  // the CUDA-core buckets norm while staging
    if (in.op == kAttention || in.op == kSample || (kNormPhases && is_norm(in.op))) {
      record_time(c, kTimeStaged);
      if (in.op == kAttention) {
        run_attention_any<R>(c, in);
      } else if (in.op == kSample) {
        if (row_samples(c.step, in.row)) run_sample(c, in);
      } else {
        run_norm(c, in);
      }
      record_time(c, kTimeComputed);
      if (c.timing != nullptr) c.timing[kPageWaitNs] = c.timing[kEpilogueNs] = 0;  // no pages, no epilogue
    } else if constexpr (R <= kMaxCoreRows) {
      run_matvec<R>(c, in);
    } else {
      run_mma<R>(c, in);
    }
    // Release: every thread's stores, then the barrier, then thread 0's fence and add (mk_sync.cuh). Outputs in
    // flagged words (the 1-row bucket's residual) need no fence: the count only tells the waiters when to look
    // (mk_flagged.cuh).
    consumer_sync();
    if (tid == 0 && in.signal >= 0) {
      if (!hands_on_flagged<R>(in.op)) __threadfence();
      atomicAdd(c.counters + in.signal, 1u);
    }
    record_time(c, kTimeEnd);
  }
}

template <int R>
__device__ __forceinline__ void decode_step(const Model* model, const int* program, int header_ints,
                                            unsigned* counters, const Step* step, Output* out, unsigned epoch,
                                            unsigned tag, int pages, int pages_offset, long long watchdog_cycles,
                                            unsigned long long* timing, int timing_stride, int pages_in_flight,
                                            int l2_prefetch_pages) {
  extern __shared__ __align__(128) uint8_t smem[];
  Header& h = header(smem);
  const int tid = threadIdx.x;
  if (tid == 0) {
    for (int p = 0; p < pages; ++p) {
      mbarrier_init(&h.full[p], 1);                  // the loader's arrive.expect_tx
      mbarrier_init(&h.empty[p], kConsumerThreads);  // one arrival per consumer thread (mk_sync.cuh)
    }
    for (int i = 0; i < kMaxSliceStages; ++i) {
      for (int g = 0; g < kConsumerWarps; ++g) mbarrier_init(&h.staged[i][g], 1);  // the issuer's expect_tx
    }
    h.block_abort = 0;
    h.model = *model;
    mbarrier_init_fence();
  }
  __syncthreads();
  const int first = __ldg(program + blockIdx.x);
  const int count = __ldg(program + blockIdx.x + 1) - first;
  const int* instructions = program + header_ints;
  // Registers: the launch gives each thread 168 (12 warps; each of the SM's 4 sub-partitions holds 16,384
  // registers, for 3 warps). The loader warpgroup then keeps kLoaderRegisters and the consumers take
  // kConsumerRegisters, so no bucket's kernel spills; held to 168 (as ptxas held a 9-warp block), each spilled
  // 40-108 bytes.
  constexpr int kLoaderRegisters = 56, kConsumerRegisters = 224;
  static_assert(2 * 32 * kConsumerRegisters + 32 * kLoaderRegisters <= 16384, "a sub-partition's 3 warps fit");
  if (tid >= kConsumerThreads) {
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(kLoaderRegisters));
    if (tid == kConsumerThreads) {
      run_loader(instructions, first, count, h.model, smem, pages, pages_offset, pages_in_flight, l2_prefetch_pages,
                 tile_group(R), timing_record(timing, timing_stride, 0));
    }
    return;
  }
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(kConsumerRegisters));
  if constexpr (R > kMaxCoreRows) {
    // wgmma applies the pages' swizzle by absolute address: the ring must start on 1024 bytes (SharedMemoryPlan).
    if ((smem_address(smem + pages_offset) & 1023u) != 0) __trap();
  }
  constexpr ActivationLayout kLayout{R > kMaxCoreRows ? R : 0, R > kMaxCoreRows ? slice_columns(R) : 0};
  Context c{&h.model, step, smem, pages, pages_offset, epoch, counters, out,
            Watchdog{watchdog_cycles, out, tag, (int)blockIdx.x}, 0, nullptr, kLayout, 0, step->keep_logits != 0};
  run_consumers<R>(c, instructions, first, count, timing, timing_stride);
}

}  // namespace mk

#define MK_DECODE_KERNEL(R)                                                                                    \
  extern "C" __global__ void __launch_bounds__(mk::kThreads, 1) mk_decode_r##R(                              \
      const mk::Model* model, const int* program, int header_ints, unsigned* counters, const mk::Step* step,   \
      mk::Output* out, unsigned epoch, unsigned tag, int pages, int pages_offset, long long watchdog_cycles,   \
      unsigned long long* timing, int timing_stride, int pages_in_flight, int l2_prefetch_pages) {             \
    mk::decode_step<R>(model, program, header_ints, counters, step, out, epoch, tag, pages, pages_offset,      \
                       watchdog_cycles, timing, timing_stride, pages_in_flight, l2_prefetch_pages);            \
  }

MK_DECODE_KERNEL(1)
MK_DECODE_KERNEL(2)
MK_DECODE_KERNEL(4)
MK_DECODE_KERNEL(16)
MK_DECODE_KERNEL(32)
MK_DECODE_KERNEL(64)
MK_DECODE_KERNEL(128)
MK_DECODE_KERNEL(256)
#undef MK_DECODE_KERNEL

// Re-tiles a row-major bf16 matrix [rows][columns] into the megakernel's layout (TileLayout.java): tile t is
// rows 16t..16t+15 as blocks of 16 rows x 64 columns in column order, each block row's 16-byte chunks swizzled
// (mk::page_offset); destination row r comes from source row source_rows[r] (null: r itself); rows past `rows`
// are zero. One thread per 8 elements (one chunk).
extern "C" __global__ void mk_retile(const __nv_bfloat16* __restrict__ src, __nv_bfloat16* __restrict__ dst,
                                     const int* __restrict__ source_rows, int rows, int columns, int tiles) {
  constexpr int kBlockElements = mk::kTileRows * mk::kBlockColumns;
  const long long tile_elements = (long long)mk::kTileRows * columns;
  const long long vectors = tiles * tile_elements / 8;
  for (long long v = blockIdx.x * (long long)blockDim.x + threadIdx.x; v < vectors;
       v += (long long)gridDim.x * blockDim.x) {
    const long long e = v * 8;
    const long long t = e / tile_elements;
    const int rem = (int)(e - t * tile_elements);
    const int block = rem / kBlockElements, in_block = rem % kBlockElements;
    const int r = in_block / mk::kBlockColumns, stored_chunk = in_block % mk::kBlockColumns / 8;
    const int column = block * mk::kBlockColumns + (stored_chunk ^ (r % 8)) * 8;
    const long long row = t * mk::kTileRows + r;
    uint4 value = make_uint4(0, 0, 0, 0);
    if (row < rows) {
      const long long source = source_rows != nullptr ? source_rows[row] : row;
      value = *reinterpret_cast<const uint4*>(src + source * columns + column);
    }
    *reinterpret_cast<uint4*>(dst + e) = value;
  }
}
