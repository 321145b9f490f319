package org.sparkllm.kvcache;

import java.nio.ByteBuffer;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaKernel;
import org.sparkllm.cuda.CudaModule;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.cuda.KernelArgs;
import org.sparkllm.cuda.KernelFatbin;
import org.sparkllm.cuda.LaunchShape;
import org.sparkllm.cuda.PinnedHostBuffer;

/**
 * Host side of the test kernels in kernels/src/main/cuda/kv_cache_test_kernels.cuh: writes and checks a
 * coordinate-derived pattern at given positions of given slots in every virtual tensor of a cache.
 */
public final class KvPatternKernels implements AutoCloseable {
  private static final int THREADS = 256;

  private final CudaModule module;
  private final CudaKernel fill;
  private final CudaKernel count;
  private final CudaStream stream;
  private final int tensors;
  private final long slotStrideBytes;
  private final int tokenElements;
  private final DeviceBuffer tensorBases;
  private final DeviceBuffer positions;
  private final DeviceBuffer mismatches;
  private final PinnedHostBuffer staging;
  private final int maxSlots;

  /** For tensors starting at {@code tensorAddresses}, slots {@code slotStrideBytes} apart. */
  public KvPatternKernels(CudaContext context, long[] tensorAddresses, long slotStrideBytes, int tokenElements,
      int maxSlots) {
    this.module = context.loadModule(KernelFatbin.read());
    this.fill = module.kernel("kv_fill_pattern");
    this.count = module.kernel("kv_count_mismatches");
    this.stream = context.createStream();
    this.tensors = tensorAddresses.length;
    this.slotStrideBytes = slotStrideBytes;
    this.tokenElements = tokenElements;
    this.maxSlots = maxSlots;
    this.tensorBases = context.allocate(8L * tensors);
    this.positions = context.allocate(3L * 4 * maxSlots);
    this.mismatches = context.allocate(8);
    this.staging = context.allocatePinned(Math.max(8L * tensors, 3L * 4 * maxSlots));
    ByteBuffer host = staging.buffer();
    for (long address : tensorAddresses) {
      host.putLong(address);
    }
    tensorBases.copyFrom(staging, 8L * tensors, stream);
    stream.synchronize();
  }

  /** The cache's virtual tensors. */
  public static KvPatternKernels forCache(CudaContext context, VAttentionKvCache cache) {
    KvCacheShape shape = cache.shape();
    long[] bases = new long[shape.tensors()];
    for (int t = 0; t < bases.length; t++) {
      bases[t] = cache.tensorAddress(t);
    }
    return new KvPatternKernels(context, bases, cache.slotStrideBytes(), shape.kvHeads() * shape.headDim(),
        shape.maxSlots());
  }

  /** Writes the pattern at positions [starts[i], ends[i]) of slots[i], i < n; returns after it ran. */
  public void fill(int n, int[] slots, int[] starts, int[] ends, int seed) {
    if (n == 0) {
      return;
    }
    upload(n, slots, starts, ends);
    fill.launch(LaunchShape.grid2d(n, tensors, THREADS), stream, args(n, seed));
    stream.synchronize();
  }

  /** Elements at those positions that differ from the pattern written with {@code seed}. */
  public long countMismatches(int n, int[] slots, int[] starts, int[] ends, int seed) {
    if (n == 0) {
      return 0;
    }
    upload(n, slots, starts, ends);
    mismatches.fill((byte) 0, stream);
    count.launch(LaunchShape.grid2d(n, tensors, THREADS), stream, args(n, seed).addLong(mismatches.address()));
    mismatches.copyTo(staging, 8, stream);
    stream.synchronize();
    return staging.buffer().getLong(0);
  }

  private KernelArgs args(int n, int seed) {
    long slotsAt = positions.address();
    return new KernelArgs().addLong(tensorBases.address()).addLong(slotsAt).addLong(slotsAt + 4L * maxSlots)
        .addLong(slotsAt + 8L * maxSlots).addLong(slotStrideBytes).addInt(tokenElements).addInt(seed);
  }

  private void upload(int n, int[] slots, int[] starts, int[] ends) {
    if (n > maxSlots) {
      throw new IllegalArgumentException(n + " slots, at most " + maxSlots);
    }
    ByteBuffer host = staging.buffer();
    host.asIntBuffer().put(slots, 0, n);
    host.position(4 * maxSlots);
    host.asIntBuffer().put(starts, 0, n);
    host.position(8 * maxSlots);
    host.asIntBuffer().put(ends, 0, n);
    positions.copyFrom(staging, 12L * maxSlots, stream);
  }

  @Override
  public void close() {
    staging.close();
    mismatches.close();
    positions.close();
    tensorBases.close();
    stream.close();
    module.close();
  }
}
