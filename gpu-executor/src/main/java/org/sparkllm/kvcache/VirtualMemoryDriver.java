package org.sparkllm.kvcache;

/**
 * The virtual-memory operations the KV cache needs, so the allocation policy can run against an
 * in-memory fake on the CPU and against CUDA's VMM API on a GPU. Sizes are multiples of
 * {@link #granularity()}; the rules are CUDA's: unmap exactly what was mapped, set access after
 * every map, never map over a mapping, release only unmapped handles.
 */
public interface VirtualMemoryDriver {

  /** Page size: the physical allocation and mapping unit. */
  long granularity();

  /** Device memory not yet allocated, in bytes: the pool is sized from a fraction of it. */
  long freeMemoryBytes();

  /** Reserves {@code bytes} of address space and returns its start. */
  long reserve(long bytes);

  /** Frees a reservation made by {@link #reserve} (nothing may be mapped in it). */
  void free(long address, long bytes);

  /** Creates a physical allocation of {@code bytes} and returns its handle. */
  long create(long bytes);

  void release(long handle);

  void map(long address, long bytes, long handle);

  /** Grants the device read-write access to a mapped range. */
  void setAccess(long address, long bytes);

  void unmap(long address, long bytes);

  /** Prepares the calling thread to issue calls (CUDA: make the context current). */
  default void attachThread() {}
}
