// The decode megakernel's shared definitions: constants, the instruction and descriptor layouts the Java
// host writes (org.sparkllm.backend.megakernel: Instruction, ModelDescriptor, SharedMemoryPlan, TileLayout),
// and the dynamic shared-memory map. docs/architecture.md ("The megakernel") describes the design.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cuda_bf16.h>
#include "../attention.cuh"  // attn::bf16x8_to_float, attn::merge_state, attn::ex2
#include "../sampling.cuh"   // SampleParams, sample_detail::sample_row

namespace mk {

constexpr int kConsumerWarps = 8;
constexpr int kConsumerThreads = kConsumerWarps * 32;
// + a loader warpgroup: its first warp loads, and the group hands most of its registers to the consumers
// (mk_kernel.cuh: setmaxnreg, which moves registers only between whole warpgroups).
constexpr int kThreads = kConsumerThreads + 128;
constexpr int kMaxStepRows = 256;                 // largest batch bucket: Step, Output and the global buffers
// Largest bucket on CUDA cores (mk_matvec.cuh); above: mk_mma.cuh. Not 8: on an H100, 5 to 8 rows ran faster in
// the 16-row tensor-core bucket than in an 8-row CUDA-core one (1B: 1,481 us at 9 rows against 1,778 at 5).
constexpr int kMaxCoreRows = 4;
// Tiles whose pages of one 512-column chunk the consumers hold at once: 1 on CUDA cores (tile after tile);
// on tensor cores 4, so that one staged activation slice serves 4 tiles (mk_mma.cuh).
__host__ __device__ constexpr int tile_group(int rows) { return rows <= kMaxCoreRows ? 1 : 4; }
// A tile is 16 rows; consumer warp w owns rows 2w and 2w + 1 of every tile (a RoPE or gate/up pair), so a
// warp finishes its rows alone, with shuffles.
constexpr int kTileRows = 16;
constexpr int kWarpRows = kTileRows / kConsumerWarps;
// A tile's weights are K / 64 blocks of 16 rows x 64 columns (2 KiB) in column order. A block's rows are 128
// bytes, the 16-byte chunks of row r permuted (physical chunk = logical chunk ^ (r & 7), page_offset): the
// 128-byte swizzle, so that an ldmatrix of 8 rows hits 8 different bank groups and a warp's 16-byte loads of
// one row's 256 columns take the 4 wavefronts that 512 bytes need. A page is one ring slot's copy: the blocks
// of 512 columns of one tile (fewer for the last), contiguous (any whole number of blocks would be).
constexpr int kBlockColumns = 64;
constexpr int kBlockBytes = kTileRows * kBlockColumns * 2;
constexpr int kPageColumns = 512;
constexpr int kPageBytes = kTileRows * kPageColumns * 2;
constexpr int kStepColumns = 32 * 8;  // one 16-byte vector per lane
// Byte offset of element (row, column) in a page (column counted from the page's first).
__host__ __device__ constexpr int page_offset(int row, int column) {
  return (column / kBlockColumns) * kBlockBytes + row * kBlockColumns * 2 +
         ((((column / 8) % 8) ^ (row % 8)) * 16) + (column % 8) * 2;
}
constexpr int kWords = 20;
constexpr int kMaxHeads = 4;
constexpr int kMaxHalfDim = 64;  // head_dim <= 128 (ModelDims.java)
constexpr int kMaxSplits = 32;
constexpr int kMaxPages = 12;
constexpr int kHeaderBytes = 1024;
constexpr int kScratchBytes = 17 * 1024;
constexpr int kActivationOffset = kHeaderBytes + kScratchBytes;

// Tensor-core buckets stage each matvec input in slices of slice_columns(R) columns of all R rows, one bulk copy
// per row group and slice (mk_mma.cuh), in an activation area of kActivationStages buffers of up to kStageBytes
// (32 KiB), which staged attention also uses. Fewer, larger copies stage faster: on an H100 a slice costs ~0.3 us
// plus its bytes at ~240 GB/s (kernels/probes/staging_probe.cu).
constexpr int kActivationStages = 2;
constexpr int kStageBytes = 32 * 1024;
// The columns of all R rows one of the area's buffers holds: the area's size (SharedMemoryPlan.java).
__host__ __device__ constexpr int stage_columns(int rows) {
  return kStageBytes / 2 / rows < kPageColumns ? kStageBytes / 2 / rows : kPageColumns;
}
// The columns of a staged slice: from 128 rows the slice is wgmma's B operand (mk_mma.cuh, kWide), one 64-column
// block whose 128-byte rows are the layout a 128-byte-swizzle descriptor names.
__host__ __device__ constexpr int slice_columns(int rows) {
  return rows >= 128 ? kBlockColumns : stage_columns(rows);
}
// Slices staged ahead or being computed: as many as the area holds (4 where the slice is half a buffer, 128 rows).
constexpr int kMaxSliceStages = 4;
__host__ __device__ constexpr int slice_stages(int rows) {
  return kActivationStages * stage_columns(rows) / slice_columns(rows);
}

// Where element (row b, column k) of a matvec input [rows][K] (bf16) lives. Tensor-core buckets store their
// inputs slice by slice: slice s (columns [s * width, s * width + w), w = min(width, K - s * width)) is a
// [rows][w] block, each row's 16-byte chunks swizzled (chunk ^ (b & 7); w is a multiple of 64), so a row
// group's rows of a slice are one contiguous range that one bulk copy stages, and an ldmatrix of 8 rows
// reads 8 bank groups. CUDA-core buckets (width 0) keep [rows][K] row-major.
struct ActivationLayout {
  int rows, width;

  __device__ __forceinline__ size_t index(int b, int k, int K) const {
    if (width == 0) return (size_t)b * K + k;
    const int start = k / width * width, w = min(width, K - start), kk = k - start;
    return (size_t)start * rows + (size_t)b * w + (((kk >> 3) ^ (b & 7)) << 3) + (kk & 7);
  }
};

enum Opcode : int {
  kQkv = 1, kAttention = 2, kOProj = 3, kGateUp = 4, kDown = 5, kLmHead = 6,
  kNormAttention = 7, kNormMlp = 8, kNormFinal = 9,  // buckets above kMaxCoreRows only (mk_norm.cuh)
  kSample = 10                                        // rows that do not take the argmax (mk_sample.cuh)
};

__device__ __forceinline__ bool is_norm(int op) { return op >= kNormAttention && op <= kNormFinal; }

// Instruction.java's 20 words. A matvec streams pages [first_chunk, first_chunk + chunk_count) of each of its
// tiles; a tensor-core O_PROJ or DOWN stores its sums over them as K piece `piece` (Model.residual_partial),
// which the next norm adds to the residual, `pieces` of them, in piece order.
struct Instruction {
  int op, layer, first_tile, tile_count, row, kv_head, head_begin, head_count, split, splits, wait, wait_count,
      signal, arrive, arrive_count, partial, first_chunk, chunk_count, piece, pieces;
};
static_assert(sizeof(Instruction) == kWords * 4 && kWords % 4 == 0, "whole 16-byte words");

// One layer's weights (tiled copies for the matrices) and its vAttention K and V tensors.
struct Layer {
  const __nv_bfloat16* attn_norm;
  const __nv_bfloat16* qkv;
  const __nv_bfloat16* o_proj;
  const __nv_bfloat16* mlp_norm;
  const __nv_bfloat16* gate_up;
  const __nv_bfloat16* down;
  __nv_bfloat16* k_cache;
  __nv_bfloat16* v_cache;
};

// ModelDescriptor.java writes these fields in this order, 8 bytes each.
struct Model {
  long long hidden, heads, kv_heads, head_dim, intermediate, vocab, layers, slot_stride_bytes;
  double eps;
  const __nv_bfloat16* embedding;
  const __nv_bfloat16* final_norm;
  const __nv_bfloat16* lm_head;  // tiled
  const float* rope_cos;         // [positions][head_dim / 2]
  const float* rope_sin;
  const Layer* layer;
  // Activation buffers, [rows] for as many rows as the largest bucket the host runs (<= kMaxStepRows).
  float* residual;                // fp32 [rows][hidden]: layer 0's QKV (or NORM) seeds it with the embedding
  __nv_bfloat16* query;           // [rows][heads * head_dim], after RoPE
  __nv_bfloat16* attention;       // [rows][heads * head_dim]
  __nv_bfloat16* mlp;             // [rows][intermediate], after SiLU(gate) * up
  float* logits;                  // [rows][vocab]
  float* attn_partial_o;          // [rows][heads][kMaxSplits][head_dim]
  float* attn_partial_ml;         // [rows][heads][kMaxSplits][2]: max (log2 domain), sum
  float* lm_partial_value;        // [LM-head instructions][kMaxStepRows]
  int* lm_partial_index;
  __nv_bfloat16* normed;          // [rows][hidden] (R > kMaxCoreRows): NORM's output, QKV's, GATE_UP's, LM_HEAD's input
  float* residual_partial;        // [pieces][rows][hidden]: O_PROJ's or DOWN's K pieces, for NORM (R > kMaxCoreRows);
                                  // StreamBuilder.MAX_PIECES deep
  // The 1-row bucket's residual stream, in flagged words (mk_flagged.cuh): fp32 after each layer's O_PROJ and after
  // its DOWN, [layers][2][kFlaggedRows][hidden]
  unsigned long long* flagged_residual;
};

// Per-step inputs, uploaded by the host before each launch (MegakernelStep.java).
struct Step {
  int count;  // valid rows; rows count..bucket-1 compute on zeros and store nothing
  // 1: the LM head stores every row's logits (the caller reads them, or a row's SAMPLE draws from them); 0: it
  // keeps only their argmaxes (at 256 rows the logits are 131 MB a step for a vocabulary of 128,256).
  int keep_logits;
  const int* tokens_from;  // null, or the step before's Output.sampled: a step launched ahead takes its tokens
                           // there (written by the kernel before this one on the stream)
  int tokens[kMaxStepRows];
  int slots[kMaxStepRows];
  int positions[kMaxStepRows];  // where this step's token goes; the context is positions + 1 long
};

static_assert(offsetof(Step, keep_logits) == 4 && offsetof(Step, tokens_from) == 8 && offsetof(Step, tokens) == 16,
              "MegakernelStep.java's offsets");

// The step's tokens: the ones the step before picked, for a step launched ahead (written by the kernel before
// this one on the stream), else the host's.
__device__ __forceinline__ const int* step_tokens(const Step* step) {
  return step->tokens_from != nullptr ? step->tokens_from : step->tokens;
}

// Each row's sampling settings follow struct Step in the same upload, at the next 128-byte boundary
// (MegakernelStep.PARAMS_OFFSET).
constexpr int kSampleParamsOffset = (sizeof(Step) + 127) / 128 * 128;

__device__ __forceinline__ const SampleParams& sample_params(const Step* step, int row) {
  return reinterpret_cast<const SampleParams*>(reinterpret_cast<const char*>(step) + kSampleParamsOffset)[row];
}

// Whether row b draws its token (SAMPLE) rather than taking the LM head's argmax.
__device__ __forceinline__ bool row_samples(const Step* step, int b) {
  return b < step->count && sample_params(step, b).temperature > 0.0f;
}

// Per-step outputs (MegakernelStep.java reads them in one copy). A watchdog record is valid only when
// its tag equals this launch's tag, so nothing is cleared between launches.
struct Output {
  int sampled[kMaxStepRows];
  unsigned error_tag;   // launch tag of the first failure
  int error_code;       // kError*
  int error_block;
  int error_instruction;
  int error_counter;
  unsigned error_value;
  unsigned error_target;
  unsigned abort_tag;   // = launch tag once any block gave up: every spin polls it
};

enum ErrorCode : int { kCounterTimeout = 1, kPageFullTimeout = 2, kStageTimeout = 3, kFlaggedTimeout = 4 };

// Dynamic shared memory: [header | scratch | staged activations | page ring].
struct Header {
  unsigned long long full[kMaxPages];   // page landed (loader's expect_tx + the bulk copy's bytes)
  unsigned long long empty[kMaxPages];  // page consumed (one arrival per consumer thread)
  unsigned long long staged[kMaxSliceStages][kConsumerWarps];  // a row group's activation slice landed
  volatile int block_abort;             // a consumer gave up: the loader stops, the block exits
  int last_arrival;                     // broadcast of "this block arrived last"
  float inv_rms[kMaxCoreRows];
  Instruction current;                  // the consumers' instruction: in shared memory, not in registers
                                        // that the tensor-core accumulators need (thread 0 writes it)
  Model model;                          // copied once at start
};
static_assert(sizeof(Header) <= kHeaderBytes, "header fits");

// Scratch union: only one instruction runs at a time in a block.
struct MatvecScratch {
  float best_value[kConsumerWarps][kMaxCoreRows];  // LM head: each warp's argmax per batch row
  int best_index[kConsumerWarps][kMaxCoreRows];
  float sums[kConsumerWarps][kMaxCoreRows];  // RMSNorm sums of squares
  float rope_cos[kMaxCoreRows][kMaxHalfDim];  // QKV: each row's rotation at its position, read by the epilogues
  float rope_sin[kMaxCoreRows][kMaxHalfDim];
};
struct AttentionScratch {
  float o[kConsumerWarps][kMaxHeads][128];
  float m[kConsumerWarps][kMaxHeads];
  float l[kConsumerWarps][kMaxHeads];
  float split_weight[kMaxHeads][kMaxSplits];
  float inv_sum[kMaxHeads];
};
static_assert(sizeof(MatvecScratch) <= kScratchBytes && sizeof(AttentionScratch) <= kScratchBytes, "scratch fits");

__device__ __forceinline__ Header& header(uint8_t* smem) { return *reinterpret_cast<Header*>(smem); }
__device__ __forceinline__ uint8_t* scratch(uint8_t* smem) { return smem + kHeaderBytes; }
__device__ __forceinline__ __nv_bfloat16* activations(uint8_t* smem) {
  return reinterpret_cast<__nv_bfloat16*>(smem + kActivationOffset);
}

using attn::bf16x8_to_float;

__device__ __forceinline__ unsigned long long global_timer() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// The timing record of one instruction (MegakernelOptions.timing), kTimingWords u64s written by
// consumer thread 0: %globaltimer ns at the start (before the dependency wait), when the dependency is
// met, when the inputs are staged in shared memory, when warp 0 has computed its rows of the last tile
// (epilogues included; the other warps may still be computing, which then counts as store), and after
// the signal; then the ns thread 0 spent waiting for weight pages and in epilogues (sums); then the ns the
// loader waited for a free ring page before copying this instruction's pages (its own word: the ring was
// full of pages not yet taken, so the block fetched nothing new; 0 for instructions without pages).
enum TimingWord : int {
  kTimeStart = 0, kTimeReady, kTimeStaged, kTimeComputed, kTimeEnd, kPageWaitNs, kEpilogueNs, kRingFullNs,
  kTimingWords
};

}  // namespace mk
