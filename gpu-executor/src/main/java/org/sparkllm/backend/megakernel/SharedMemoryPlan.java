package org.sparkllm.backend.megakernel;

/**
 * The dynamic shared memory of one bucket's kernel (mk_common.cuh uses the same offsets): a header
 * (mbarriers, flags), a scratch area (reductions, attention state), the staged activations
 * ({@code rows × widestInput} bf16) and then as many 16 KiB weight pages as fit, at most
 * {@link #MAX_PAGES}. Fewer rows leave room for more pages in flight.
 *
 * @param pagesOffset byte offset of page 0 (128-byte aligned)
 * @param pages pages in the ring
 * @param bytes dynamic shared memory the launch asks for
 */
public record SharedMemoryPlan(int pagesOffset, int pages, int bytes) {
  public static final int HEADER_BYTES = 512;
  public static final int SCRATCH_BYTES = 17 * 1024;
  public static final int ACTIVATION_OFFSET = HEADER_BYTES + SCRATCH_BYTES;
  public static final int MAX_PAGES = 12;
  /** The header holds a full and an empty mbarrier per page below this many pages. */
  static final int MIN_PAGES = 2;

  /**
   * @param rows batch rows of the bucket
   * @param dims the model (its widest matvec input sizes the activation area)
   * @param maxSharedBytes the device's opt-in shared memory per block
   */
  public static SharedMemoryPlan of(int rows, ModelDims dims, int maxSharedBytes) {
    long activation = 2L * rows * dims.widestInput();
    long pagesOffset = (ACTIVATION_OFFSET + activation + 127) / 128 * 128;
    long pages = Math.min(MAX_PAGES, (maxSharedBytes - pagesOffset) / TileLayout.PAGE_BYTES);
    if (pages < MIN_PAGES) {
      throw new IllegalArgumentException("a bucket of " + rows + " rows with inputs " + dims.widestInput()
          + " wide leaves room for " + Math.max(0, pages) + " weight pages in " + maxSharedBytes
          + " bytes of shared memory; the megakernel needs " + MIN_PAGES);
    }
    return new SharedMemoryPlan((int) pagesOffset, (int) pages, (int) (pagesOffset + pages * TileLayout.PAGE_BYTES));
  }
}
