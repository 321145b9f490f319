// On-device token sampling: one block per sequence picks the next token from its row of logits, with
// the host Sampler's semantics (temperature, then top-k, top-p, min-p in Hugging Face's order).
//
// Why it is built this way:
// - Bit-for-bit determinism: probabilities are 64-bit fixed-point integers, round(exp(z - zmax) * 2^40),
//   and integer sums do not depend on the order in which threads add them.
// - Thresholds come from a radix select over an order-preserving uint32 image of z (the key): 8-bit
//   digits from the most significant one, with shared-memory histograms of counts (top-k) and of
//   fixed-point mass (top-p). A filter that is disabled costs no pass; a select stops early once one
//   bucket settles it.
// - A row (128256 floats for Llama 3) does not fit in shared memory, so every pass re-reads it from L2,
//   in coalesced sweeps with several loads in flight per thread.
// - The draw: target = floor(u * kept mass) with u from Philox4x32-10 keyed by the request's seed; the
//   token is where the running kept mass, in token-id order, passes the target. The kernel first finds
//   the warp whose id range holds it, then the thread within that range, then the token.
// - The block is a parameter (B: its thread count, its barrier, how it loads logits): sample_tokens runs
//   1024 threads per row; the decode megakernel runs the same code in its 256 consumer threads, reading
//   logits that other SMs wrote in the same launch through L2. Integer sums make the token the same.
#pragma once
#include <cstdint>

// Per-row parameters; DeviceSampler.writeParams lays them out (little-endian, 32 bytes).
struct SampleParams {
  float temperature;        // 0: greedy (first index of the largest logit)
  int top_k;                // 0 disables
  float top_p;              // 1 disables
  float min_p;              // 0 disables
  unsigned long long seed;  // Philox key
  int counter;              // Philox counter word 0: the index of the token being generated
  int pad;
};
static_assert(sizeof(SampleParams) == 32, "DeviceSampler.PARAMS_BYTES");

namespace sample_detail {

constexpr int kMaxWarps = 32;
constexpr int kUnroll = 8;  // loads in flight per thread in a sweep: enough to cover L2 latency
constexpr unsigned kFull = 0xFFFFFFFFu;
constexpr float kMassScale = 1099511627776.0f;  // 2^40: one token's mass is at most 2^40

struct Shared {
  unsigned int count[256];
  // A bucket's mass accumulates in two 32-bit words (64-bit shared atomics are CAS loops on Hopper)
  // and is joined into mass before it is read.
  unsigned int mass_low[256];
  unsigned int mass_high[256];
  unsigned long long mass[256];
  unsigned long long warp_u64[kMaxWarps];
  unsigned int warp_u32[kMaxWarps];
  unsigned int warp_index[kMaxWarps];
  unsigned int result_u32;         // a digit, a warp or a block-wide maximum, broadcast
  unsigned long long result_u64;   // what is still needed inside the chosen bucket or warp
};

// Larger z gives a larger key; -0 and +0 share one key so that they tie as they do in float compares.
__device__ __forceinline__ unsigned order_key(float z) {
  const unsigned bits = z == 0.0f ? 0u : __float_as_uint(z);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

__device__ __forceinline__ float key_value(unsigned key) {
  return __uint_as_float((key & 0x80000000u) ? (key & 0x7FFFFFFFu) : ~key);
}

__device__ __forceinline__ unsigned long long fixed_mass(float z, float zmax) {
  return __float2ull_rn(expf(z - zmax) * kMassScale);
}

// What the filters decided: a token is kept when its key is at least floor_key (top-k and top-p) and
// exp(z - zmax) >= min_p (min-p; min_p is 0 when disabled).
struct Filter {
  float temperature;
  float zmax;
  float min_p;
  unsigned floor_key;
};

// The token's fixed-point mass when kept, else 0. The draw calls it twice per token (sum, then walk):
// the same instructions on the same inputs, so both see the same value.
__device__ __forceinline__ unsigned long long kept_mass(float logit, const Filter& f) {
  const float z = logit / f.temperature;
  if (order_key(z) < f.floor_key) {
    return 0;
  }
  const float e = expf(z - f.zmax);
  return e < f.min_p ? 0ull : __float2ull_rn(e * kMassScale);
}

// Calls body(valid, i, logit) for i = begin + lane + j * step, j = 0, 1, ... while i < end. The loop
// bound is the same for the whole warp, so bodies may use warp collectives (valid is false past end).
template <class B, typename Body>
__device__ __forceinline__ void sweep(const float* __restrict__ x, int begin, int end, int step, Body body) {
  const int lane = threadIdx.x & 31;
  for (int base = begin; base < end; base += step * kUnroll) {
    float v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int i = base + u * step + lane;
      v[u] = i < end ? B::load(x + i) : 0.0f;
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int i = base + u * step + lane;
      body(i < end, i, v[u]);
    }
  }
}

// The whole row, warps interleaved: each warp reads 32 consecutive logits per load.
template <class B, typename Body>
__device__ __forceinline__ void sweep_row(const float* __restrict__ x, int vocab, Body body) {
  sweep<B>(x, threadIdx.x & ~31, vocab, B::kThreads, body);
}

// Adds mass to bucket d as two 32-bit halves; the add that wraps the low word carries one into the high
// word, so the joined total is exact whatever the order of the adds.
__device__ __forceinline__ void add_mass(Shared& sh, unsigned d, unsigned long long mass) {
  const unsigned low = static_cast<unsigned>(mass);
  const unsigned before = atomicAdd(&sh.mass_low[d], low);
  const unsigned high = static_cast<unsigned>(mass >> 32) + (before + low < before ? 1u : 0u);
  if (high != 0) {
    atomicAdd(&sh.mass_high[d], high);
  }
}

// Adds a token to the histograms of its digit when part is set. Plain 32-bit shared atomics: measured
// on an H100, faster than combining a warp's equal digits first (__match_any_sync) even though most
// logits share a few top digits.
template <bool kWithMass>
__device__ __forceinline__ void histogram_add(Shared& sh, bool part, unsigned digit, unsigned long long mass) {
  if (part) {
    atomicAdd(&sh.count[digit], 1u);
    if (kWithMass && mass != 0) {
      add_mass(sh, digit, mass);
    }
  }
}

template <class B>
__device__ __forceinline__ void clear_histograms(Shared& sh, bool with_mass) {
  for (int d = threadIdx.x; d < 256; d += B::kThreads) {
    sh.count[d] = 0;
    if (with_mass) {
      sh.mass_low[d] = 0;
      sh.mass_high[d] = 0;
    }
  }
}

// Joins the two words of each bucket's mass; the caller synchronises before and after.
template <class B>
__device__ __forceinline__ void join_masses(Shared& sh) {
  for (int d = threadIdx.x; d < 256; d += B::kThreads) {
    sh.mass[d] = (static_cast<unsigned long long>(sh.mass_high[d]) << 32) | sh.mass_low[d];
  }
}

template <typename T>
__device__ __forceinline__ T warp_inclusive_scan(T v) {
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int offset = 1; offset < 32; offset <<= 1) {
    const T other = __shfl_up_sync(kFull, v, offset);
    if (lane >= offset) {
      v += other;
    }
  }
  return v;
}

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
    v += __shfl_xor_sync(kFull, v, offset);
  }
  return v;
}

// Warp 0 only. Walks the buckets from digit 255 down and finds the one in which the running total of
// value reaches need (1 <= need <= the sum of all buckets); writes the digit to sh.result_u32 and what is
// still needed inside that bucket to sh.result_u64. Lane l sums buckets 255 - 8l .. 248 - 8l, a scan over
// lanes finds the lane, and that lane walks its eight buckets.
template <typename T>
__device__ __forceinline__ void find_bucket(Shared& sh, const T* value, T need) {
  const int lane = threadIdx.x & 31;
  T lane_total = 0;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    lane_total += value[255 - 8 * lane - j];
  }
  const T through = warp_inclusive_scan(lane_total);
  T before = through - lane_total;
  if (before < need && need <= through) {
#pragma unroll 1
    for (int j = 0; j < 8; ++j) {
      const int d = 255 - 8 * lane - j;
      if (before + value[d] >= need) {
        sh.result_u32 = static_cast<unsigned>(d);
        sh.result_u64 = static_cast<unsigned long long>(need - before);
        break;
      }
      before += value[d];
    }
  }
}

template <class B>
__device__ __forceinline__ unsigned block_max(Shared& sh, unsigned v) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  v = __reduce_max_sync(kFull, v);
  if (lane == 0) {
    sh.warp_u32[warp] = v;
  }
  B::sync();
  if (warp == 0) {
    v = __reduce_max_sync(kFull, lane < B::kWarps ? sh.warp_u32[lane] : 0u);
    if (lane == 0) {
      sh.result_u32 = v;
    }
  }
  B::sync();
  return sh.result_u32;
}

template <class B>
__device__ __forceinline__ unsigned long long block_exclusive_scan(Shared& sh, unsigned long long v) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const unsigned long long through = warp_inclusive_scan(v);
  if (lane == 31) {
    sh.warp_u64[warp] = through;
  }
  B::sync();
  if (warp == 0) {
    const unsigned long long total = lane < B::kWarps ? sh.warp_u64[lane] : 0ull;
    const unsigned long long before = warp_inclusive_scan(total) - total;
    if (lane < B::kWarps) {
      sh.warp_u64[lane] = before;
    }
  }
  B::sync();
  return sh.warp_u64[warp] + through - v;
}

// The first index of the largest logit.
template <class B>
__device__ __forceinline__ int argmax(Shared& sh, const float* __restrict__ x, int vocab) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  unsigned best_key = 0;
  unsigned best_index = 0xFFFFFFFFu;
  // A thread visits its tokens in increasing id order, so a strictly larger key is needed to move on.
  sweep_row<B>(x, vocab, [&](bool valid, int i, float logit) {
    const unsigned key = order_key(logit);
    if (valid && (key > best_key || best_index == 0xFFFFFFFFu)) {
      best_key = key;
      best_index = static_cast<unsigned>(i);
    }
  });
  unsigned key = __reduce_max_sync(kFull, best_key);
  unsigned index = __reduce_min_sync(kFull, best_key == key ? best_index : 0xFFFFFFFFu);
  if (lane == 0) {
    sh.warp_u32[warp] = key;
    sh.warp_index[warp] = index;
  }
  B::sync();
  if (warp == 0) {
    const bool live = lane < B::kWarps;
    key = __reduce_max_sync(kFull, live ? sh.warp_u32[lane] : 0u);
    index = __reduce_min_sync(kFull, live && sh.warp_u32[lane] == key ? sh.warp_index[lane] : 0xFFFFFFFFu);
  }
  return static_cast<int>(index);  // valid in thread 0
}

// The key of the k-th largest z (1 <= k < vocab): top-k keeps keys >= it. Expects the count histogram of
// the top digit of every key in sh (the first sweep builds it).
template <class B>
__device__ __forceinline__ unsigned select_top_k(Shared& sh, const float* __restrict__ x, int vocab,
                                                 float temperature, unsigned k) {
  unsigned prefix = 0;
  unsigned need = k;
  for (int shift = 24;; shift -= 8) {
    if (shift != 24) {
      B::sync();  // everyone has read the previous level's result
      clear_histograms<B>(sh, false);
      B::sync();
      sweep_row<B>(x, vocab, [&](bool valid, int, float logit) {
        const unsigned key = order_key(logit / temperature);
        histogram_add<false>(sh, valid && (key >> (shift + 8)) == prefix, (key >> shift) & 255u, 0);
      });
    }
    B::sync();
    if (threadIdx.x < 32) {
      find_bucket<unsigned>(sh, sh.count, need);
    }
    B::sync();
    const unsigned digit = sh.result_u32;
    need = static_cast<unsigned>(sh.result_u64);
    prefix = (prefix << 8) | digit;
    // Done at the last digit, or when every key of the bucket is needed: then all keys from the
    // bucket's lower edge up are kept.
    if (shift == 0 || need == sh.count[digit]) {
      return prefix << shift;
    }
  }
}

// The key threshold of top-p among the keys >= floor_key: the largest t such that the mass of the keys
// in [t, inf) reaches top_p times the mass of all keys >= floor_key (so keys tied at the threshold are
// all kept). Never above the largest key, so the most likely token always survives.
template <class B>
__device__ __forceinline__ unsigned select_top_p(Shared& sh, const float* __restrict__ x, int vocab,
                                                 float temperature, float zmax, float top_p,
                                                 unsigned floor_key) {
  unsigned prefix = 0;
  unsigned long long need = 0;
  for (int shift = 24;; shift -= 8) {
    B::sync();  // everyone has read the previous level's result (or the first sweep's maximum)
    clear_histograms<B>(sh, true);
    B::sync();
    sweep_row<B>(x, vocab, [&](bool valid, int, float logit) {
      const float z = logit / temperature;
      const unsigned key = order_key(z);
      const bool part = valid && key >= floor_key &&
                        (static_cast<unsigned long long>(key) >> (shift + 8)) == prefix;
      histogram_add<true>(sh, part, (key >> shift) & 255u, part ? fixed_mass(z, zmax) : 0ull);
    });
    B::sync();
    join_masses<B>(sh);
    B::sync();
    if (threadIdx.x < 32) {
      if (shift == 24) {
        unsigned long long lane_total = 0;
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          lane_total += sh.mass[8 * threadIdx.x + j];
        }
        const unsigned long long total = warp_sum(lane_total);
        const double wanted = ceil(static_cast<double>(top_p) * static_cast<double>(total));
        need = wanted < 1.0 ? 1ull : static_cast<unsigned long long>(wanted);
        need = need > total ? total : need;
      }
      find_bucket<unsigned long long>(sh, sh.mass, need);
    }
    B::sync();
    const unsigned digit = sh.result_u32;
    need = sh.result_u64;
    prefix = (prefix << 8) | digit;
    // A bucket holding one key settles it: that key is the threshold's only candidate left.
    if (shift == 0 || sh.count[digit] == 1) {
      const unsigned threshold = prefix << shift;
      return threshold > floor_key ? threshold : floor_key;
    }
  }
}

// Philox4x32-10 (Salmon et al., SC'11) of counter (counter, 0, 0, 0) under the 64-bit key seed; the first
// two output words as one 64-bit number.
__host__ __device__ __forceinline__ unsigned long long philox_64(unsigned long long seed, unsigned counter) {
  unsigned c0 = counter, c1 = 0, c2 = 0, c3 = 0;
  unsigned k0 = static_cast<unsigned>(seed);
  unsigned k1 = static_cast<unsigned>(seed >> 32);
#pragma unroll
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    const unsigned long long p0 = 0xD2511F53ull * c0;
    const unsigned long long p1 = 0xCD9E8D57ull * c2;
    const unsigned hi0 = static_cast<unsigned>(p0 >> 32), lo0 = static_cast<unsigned>(p0);
    const unsigned hi1 = static_cast<unsigned>(p1 >> 32), lo1 = static_cast<unsigned>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  return (static_cast<unsigned long long>(c0) << 32) | c1;
}

// Draws a kept token: target = floor(u * kept mass), then the token at which the kept mass summed in
// id order passes the target. Each warp owns a contiguous id range; the warp that holds the target is
// found from the per-warp sums, then its range is split among all threads and scanned.
template <class B>
__device__ __forceinline__ int draw(Shared& sh, const float* __restrict__ x, int vocab, const Filter& f,
                                    unsigned long long seed, unsigned counter) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int span = (vocab + B::kThreads - 1) / B::kThreads * 32;  // ids per warp, a multiple of 32
  const int warp_begin = min(warp * span, vocab);
  unsigned long long mine = 0;
  sweep<B>(x, warp_begin, min(warp_begin + span, vocab), 32, [&](bool valid, int, float logit) {
    mine += valid ? kept_mass(logit, f) : 0ull;
  });
  mine = warp_sum(mine);
  B::sync();  // the selects' last readers of sh are done
  if (lane == 0) {
    sh.warp_u64[warp] = mine;
  }
  B::sync();
  if (warp == 0) {
    const unsigned long long own = lane < B::kWarps ? sh.warp_u64[lane] : 0ull;
    const unsigned long long through = warp_inclusive_scan(own);
    const unsigned long long total = __shfl_sync(kFull, through, 31);
    const unsigned long long target = __umul64hi(philox_64(seed, counter), total);
    if (through - own <= target && target < through) {
      sh.result_u32 = static_cast<unsigned>(lane);
      sh.result_u64 = target - (through - own);
    }
  }
  B::sync();
  const int chosen_warp = static_cast<int>(sh.result_u32);
  const unsigned long long rest = sh.result_u64;
  const int begin = chosen_warp * span;
  const int end = min(begin + span, vocab);
  const int piece = (end - begin + B::kThreads - 1) / B::kThreads;
  const int first = min(begin + static_cast<int>(threadIdx.x) * piece, end);
  const int last = min(first + piece, end);
  unsigned long long own = 0;
  for (int i = first; i < last; ++i) {
    own += kept_mass(B::load(x + i), f);
  }
  unsigned long long running = block_exclusive_scan<B>(sh, own);
  int token = -1;
  if (running <= rest && rest < running + own) {
    for (int i = first; i < last; ++i) {
      const unsigned long long m = kept_mass(B::load(x + i), f);
      if (m != 0) {
        token = i;  // the last kept token so far: the answer should the walk ever miss the target
      }
      if (rest < running + m) {
        break;
      }
      running += m;
    }
  }
  return token;  // valid in the one thread whose range holds the target, -1 elsewhere
}

// One row's token with p's settings, computed by the whole block B (every thread calls it): the token is
// returned in one thread (thread 0 for greedy rows), -1 in the others.
template <class B>
__device__ int sample_row(Shared& sh, const float* __restrict__ x, int vocab, const SampleParams& p) {
  if (!(p.temperature > 0.0f)) {
    const int token = argmax<B>(sh, x, vocab);
    return threadIdx.x == 0 ? token : -1;
  }

  const float temperature = p.temperature;
  const bool top_k = p.top_k > 0 && p.top_k < vocab;
  const bool top_p = p.top_p < 1.0f;

  // First sweep: the largest z, and for top-k the histogram of every key's top digit.
  if (top_k) {
    clear_histograms<B>(sh, false);
    B::sync();
  }
  unsigned max_key = 0;
  sweep_row<B>(x, vocab, [&](bool valid, int, float logit) {
    const unsigned key = order_key(logit / temperature);
    max_key = valid && key > max_key ? key : max_key;
    if (top_k) {
      histogram_add<false>(sh, valid, key >> 24, 0);
    }
  });
  max_key = block_max<B>(sh, max_key);

  Filter f;
  f.temperature = temperature;
  f.zmax = key_value(max_key);
  f.min_p = p.min_p > 0.0f ? p.min_p : 0.0f;
  f.floor_key = 0;
  if (top_k) {
    f.floor_key = select_top_k<B>(sh, x, vocab, temperature, static_cast<unsigned>(p.top_k));
  }
  if (top_p) {
    f.floor_key = select_top_p<B>(sh, x, vocab, temperature, f.zmax, p.top_p, f.floor_key);
  }
  return draw<B>(sh, x, vocab, f, p.seed, static_cast<unsigned>(p.counter));
}

// The standalone kernel's block: 1024 threads, logits written by earlier launches (read-only path).
struct KernelBlock {
  static constexpr int kThreads = 1024;
  static constexpr int kWarps = kThreads / 32;
  __device__ static void sync() { __syncthreads(); }
  __device__ static float load(const float* p) { return __ldg(p); }
};

}  // namespace sample_detail

// One block of 1024 threads per row; grid = maxRows, and blocks at or past *row_count return at once
// (the launch is replayed in a CUDA graph while the number of rows varies). Row r's logits start at
// logits + r * row_stride (row_stride 0 shares one row). Writes tokens[r] for r < *row_count.
extern "C" __global__ void __launch_bounds__(sample_detail::KernelBlock::kThreads, 1)
    sample_tokens(const float* __restrict__ logits, long long row_stride, int vocab,
                  const SampleParams* __restrict__ params, const int* __restrict__ row_count,
                  int* __restrict__ tokens) {
  using namespace sample_detail;
  const int row = blockIdx.x;
  if (row >= *row_count) {
    return;
  }
  __shared__ Shared sh;
  const int token = sample_row<KernelBlock>(sh, logits + row * row_stride, vocab, params[row]);
  if (token >= 0) {
    tokens[row] = token;
  }
}
