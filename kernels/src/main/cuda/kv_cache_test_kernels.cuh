// Test kernels for the vAttention KV cache: they address K/V exactly the way attention kernels will,
// through the per-layer virtual tensors [maxSlots, maxCtx, kvHeads, headDim], so a page that is not
// mapped faults and a page mapped at the wrong place shows up as a pattern mismatch.
#pragma once
#include <cstdint>

// A value that depends on every coordinate (and a seed, so a stale page from an earlier round of a
// test cannot pass for fresh data). Never 0, so zero-filled fresh memory never matches.
__device__ __forceinline__ uint16_t kv_pattern(uint32_t tensor, uint32_t slot, uint32_t position,
                                               uint32_t element, uint32_t seed) {
  uint32_t h = seed * 0x9E3779B1u;
  h ^= tensor * 0x85EBCA77u;
  h ^= slot * 0xC2B2AE3Du;
  h ^= position * 0x27D4EB2Fu;
  h ^= element * 0x165667B1u;
  h ^= h >> 15;
  h *= 0x2C1B3C6Du;
  h ^= h >> 13;
  return static_cast<uint16_t>(h | 1u);
}

// Writes the pattern to positions [starts[i], ends[i]) of slots[i] in every tensor.
// grid = (slot count, tensor count), any block size.
extern "C" __global__ void kv_fill_pattern(const uint64_t* __restrict__ tensor_bases,
                                           const int* __restrict__ slots,
                                           const int* __restrict__ starts,
                                           const int* __restrict__ ends,
                                           long long slot_stride_bytes, int token_elements,
                                           unsigned int seed) {
  const int i = blockIdx.x;
  const int tensor = blockIdx.y;
  const int slot = slots[i];
  uint16_t* base = reinterpret_cast<uint16_t*>(tensor_bases[tensor] + slot * slot_stride_bytes);
  const long long first = static_cast<long long>(starts[i]) * token_elements;
  const long long last = static_cast<long long>(ends[i]) * token_elements;
  for (long long e = first + threadIdx.x; e < last; e += blockDim.x) {
    const int position = static_cast<int>(e / token_elements);
    const int element = static_cast<int>(e % token_elements);
    base[e] = kv_pattern(tensor, slot, position, element, seed);
  }
}

// Counts the elements in positions [starts[i], ends[i]) of slots[i] that differ from the pattern.
// Same launch shape as kv_fill_pattern; *mismatches must be zeroed before the launch.
extern "C" __global__ void kv_count_mismatches(const uint64_t* __restrict__ tensor_bases,
                                               const int* __restrict__ slots,
                                               const int* __restrict__ starts,
                                               const int* __restrict__ ends,
                                               long long slot_stride_bytes, int token_elements,
                                               unsigned int seed,
                                               unsigned long long* __restrict__ mismatches) {
  const int i = blockIdx.x;
  const int tensor = blockIdx.y;
  const int slot = slots[i];
  const uint16_t* base =
      reinterpret_cast<const uint16_t*>(tensor_bases[tensor] + slot * slot_stride_bytes);
  const long long first = static_cast<long long>(starts[i]) * token_elements;
  const long long last = static_cast<long long>(ends[i]) * token_elements;
  unsigned long long local = 0;
  for (long long e = first + threadIdx.x; e < last; e += blockDim.x) {
    const int position = static_cast<int>(e / token_elements);
    const int element = static_cast<int>(e % token_elements);
    local += base[e] != kv_pattern(tensor, slot, position, element, seed);
  }
  if (local != 0) {
    atomicAdd(mismatches, local);
  }
}
