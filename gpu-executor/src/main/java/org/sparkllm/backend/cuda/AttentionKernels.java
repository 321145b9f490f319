package org.sparkllm.backend.cuda;

import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;

import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaKernel;
import org.sparkllm.cuda.CudaModule;
import org.sparkllm.cuda.CudaResults;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.cuda.KernelArgs;
import org.sparkllm.cuda.LaunchShape;

/**
 * Host side of kernels/src/main/cuda/attention.cuh: causal attention of bf16 queries over the vAttention
 * KV cache, as tensor-core flash-attention prefill over tiles of at most 64 tokens and as split-KV decode.
 * Calls only enqueue (no allocation, no synchronisation), so decode can be captured into a CUDA graph: the
 * decode row count, slots and positions are read from device memory at run time.
 */
public final class AttentionKernels implements AutoCloseable {
  /** Query tokens per prefill tile (the kernel's CTA covers 4 warps x 16 rows). */
  public static final int TILE_TOKENS = 64;
  private static final int THREADS = 128;
  /** Query heads one decode block serves (its accumulators are sized for this many). */
  public static final int DECODE_HEADS_PER_BLOCK = 4;
  /** Most decode splits: the merge gives each split one lane of a warp. */
  public static final int MAX_SPLITS = 32;
  /** Decode splits per SM a (row, KV head, head chunk) can have to itself ({@link #decodeSplits}). */
  private static final int SPLITS_PER_SM = 2;
  private static final double LOG2E = 1.4426950408889634;

  private final int numHeads;
  private final int numKvHeads;
  private final int headDim;
  private final int maxDecodeRows;
  private final int headChunks;
  private final int multiprocessors;
  private final float scaleLog2;
  private final int prefillSmemBytes;
  private final CudaKernel prefill;
  private final CudaKernel decode;
  private final DeviceBuffer workspaceO;
  private final DeviceBuffer workspaceMl;
  private final DeviceBuffer splitCounters;

  public AttentionKernels(CudaContext context, CudaModule module, int numHeads, int numKvHeads, int headDim,
      int maxDecodeRows) {
    if (numHeads < 1) {
      throw new IllegalArgumentException("numHeads must be positive: " + numHeads);
    }
    if (numKvHeads < 1 || numHeads % numKvHeads != 0) {
      throw new IllegalArgumentException("numKvHeads must divide numHeads " + numHeads + ": " + numKvHeads);
    }
    if (headDim != 32 && headDim != 64 && headDim != 128) {
      throw new IllegalArgumentException("unsupported headDim " + headDim + " (supported: 32, 64, 128)");
    }
    if (maxDecodeRows < 1) {
      throw new IllegalArgumentException("maxDecodeRows must be positive: " + maxDecodeRows);
    }
    this.numHeads = numHeads;
    this.numKvHeads = numKvHeads;
    this.headDim = headDim;
    this.maxDecodeRows = maxDecodeRows;
    int group = numHeads / numKvHeads;
    this.headChunks = (group + DECODE_HEADS_PER_BLOCK - 1) / DECODE_HEADS_PER_BLOCK;
    this.multiprocessors = multiprocessorCount(context);
    this.scaleLog2 = (float) (LOG2E / Math.sqrt(headDim));
    // Q tile plus double-buffered K and V tiles of 64 rows, each row padded by 16 bytes (attention.cuh).
    this.prefillSmemBytes = 5 * TILE_TOKENS * (headDim + 8) * 2;
    this.prefill = module.kernel("attn_prefill_d" + headDim);
    this.decode = module.kernel("attn_decode_d" + headDim);
    prefill.setMaxDynamicSharedBytes(prefillSmemBytes);
    long partials = 1;
    for (int rows = 1; rows <= maxDecodeRows; rows++) {
      partials = Math.max(partials, (long) rows * splitsFor(rows));
    }
    partials *= numHeads;
    this.workspaceO = context.allocate(partials * headDim * Float.BYTES);
    this.workspaceMl = context.allocate(partials * 2 * Float.BYTES);
    // One counter of finished splits per (row, kv head, head chunk); the last split resets it to 0.
    this.splitCounters = context.allocate((long) maxDecodeRows * numKvHeads * headChunks * Integer.BYTES);
    try (CudaStream stream = context.createStream()) {
      splitCounters.fill((byte) 0, stream);
      stream.synchronize();
    }
  }

  /**
   * Causal attention for the tokens of {@code tileCount} tiles ({@code tiles}: device int4 array
   * {firstToken, tokenCount 1..64, slot, firstPosition}, see {@link #tilesFor}); the K/V of these tokens
   * must already be in the cache. q and out are bf16 [T, numHeads*headDim].
   */
  public void prefill(CudaStream stream, long q, long kCache, long vCache, long slotStrideBytes, long tiles,
      int tileCount, long out) {
    if (tileCount < 0 || tileCount > 65535) {
      throw new IllegalArgumentException("tileCount must be in 0..65535: " + tileCount);
    }
    if (tileCount == 0) {
      return;
    }
    KernelArgs args = new KernelArgs().addLong(q).addLong(kCache).addLong(vCache).addLong(slotStrideBytes)
        .addLong(tiles).addInt(tileCount).addInt(numHeads).addInt(numKvHeads).addFloat(scaleLog2).addLong(out);
    prefill.launch(new LaunchShape(numHeads, tileCount, 1, THREADS, 1, 1, prefillSmemBytes), stream, args);
  }

  /**
   * One query token per decode row: for r < *rowCount, token t = rows[r] attends to positions
   * 0..positions[t] of slot slots[t]. The launch covers {@code maxRows} rows; rows past the device-side
   * count return at once, so a captured graph serves any count up to {@code maxRows}; {@code rows} must hold
   * maxRows ints (entries past the count are read but not used). One kernel: the last
   * split of a row to finish merges the splits' partials in split order (deterministic). Launches that
   * share this object's workspace must run one after another (one stream).
   */
  public void decode(CudaStream stream, long q, long kCache, long vCache, long slotStrideBytes, long rows,
      long rowCount, int maxRows, long slots, long positions, long out) {
    if (maxRows < 1 || maxRows > maxDecodeRows) {
      throw new IllegalArgumentException("maxRows must be in 1.." + maxDecodeRows + ": " + maxRows);
    }
    int splits = splitsFor(maxRows);
    KernelArgs args = new KernelArgs().addLong(q).addLong(kCache).addLong(vCache).addLong(slotStrideBytes)
        .addLong(rows).addLong(rowCount).addLong(slots).addLong(positions).addInt(numHeads).addInt(numKvHeads)
        .addInt(splits).addFloat(scaleLog2).addLong(workspaceO.address()).addLong(workspaceMl.address())
        .addLong(splitCounters.address()).addLong(out);
    decode.launch(new LaunchShape(maxRows, numKvHeads * headChunks, splits, THREADS, 1, 1, 0), stream, args);
  }

  /**
   * Key splits for a decode launch of {@code maxRows} rows ({@link #decodeSplits}). Chosen per launch size
   * rather than once, so a batch-1 graph still spreads a long context over the GPU while a large batch skips
   * the merge; the same maxRows always gives the same splits, so results are deterministic.
   */
  public int splitsFor(int maxRows) {
    return decodeSplits(maxRows, numKvHeads, headChunks, multiprocessors);
  }

  /**
   * Key splits of each (row, KV head, head chunk) for {@code maxRows} rows on {@code multiprocessors} SMs:
   * two for each SM the chunk can have to itself, 2 · ⌊SMs / (rows · KV heads · chunks)⌋, at least 1 and at
   * most 32. Pairs, because the megakernel runs two of this kernel's 4-warp blocks side by side in one SM
   * and shares each chunk's splits out to about one SM each (org.sparkllm.backend.megakernel.StreamBuilder):
   * with the same splits the two paths sum keys in the same order and agree to the bit.
   */
  public static int decodeSplits(int maxRows, int kvHeads, int headChunks, int multiprocessors) {
    long blocks = (long) maxRows * kvHeads * headChunks;
    long perSm = multiprocessors / blocks;
    return (int) Math.max(1, Math.min(MAX_SPLITS, SPLITS_PER_SM * perSm));
  }

  /**
   * Cuts a chunk of {@code tokenCount} consecutive tokens of one slot (token firstToken+i at position
   * firstPosition+i) into tiles of at most 64 tokens: int quadruples {firstToken, count, slot, firstPosition}.
   */
  public static int[] tilesFor(int firstToken, int tokenCount, int slot, int firstPosition) {
    if (tokenCount < 1 || firstToken < 0 || slot < 0 || firstPosition < 0) {
      throw new IllegalArgumentException("invalid chunk: firstToken " + firstToken + ", tokenCount " + tokenCount
          + ", slot " + slot + ", firstPosition " + firstPosition);
    }
    int n = (tokenCount + TILE_TOKENS - 1) / TILE_TOKENS;
    int[] tiles = new int[4 * n];
    for (int i = 0; i < n; i++) {
      int offset = i * TILE_TOKENS;
      tiles[4 * i] = firstToken + offset;
      tiles[4 * i + 1] = Math.min(TILE_TOKENS, tokenCount - offset);
      tiles[4 * i + 2] = slot;
      tiles[4 * i + 3] = firstPosition + offset;
    }
    return tiles;
  }

  /** Causal attention FLOPs of a tile list: 2 (QK^T) + 2 (PV) multiply-adds x headDim per head and visible key. */
  public static double prefillFlops(int[] tiles, int numHeads, int headDim) {
    double keys = 0;
    for (int i = 0; i + 3 < tiles.length; i += 4) {
      long count = tiles[i + 1];
      long first = tiles[i + 3];
      keys += count * (first + 1) + count * (count - 1) / 2.0;  // sum of (position + 1)
    }
    return 4.0 * numHeads * headDim * keys;
  }

  private static int multiprocessorCount(CudaContext context) {
    CUdevice device = new CUdevice();
    CudaResults.check(cuDeviceGet(device, context.device()), "cuDeviceGet");
    int[] count = new int[1];
    CudaResults.check(cuDeviceGetAttribute(count, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
        device), "cuDeviceGetAttribute(multiprocessor count)");
    return count[0];
  }

  @Override
  public void close() {
    splitCounters.close();
    workspaceMl.close();
    workspaceO.close();
  }
}
