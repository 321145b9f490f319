package org.sparkllm.backend.megakernel;

/**
 * The dynamic shared memory of one bucket's kernel (mk_common.cuh uses the same offsets): a header
 * (mbarriers, flags), a scratch area (reductions, attention state), the staged activations and then as
 * many 16 KiB weight pages as fit, at most {@link #MAX_PAGES}. On CUDA cores the activations are
 * {@code rows × widestInput} bf16, so fewer rows leave room for more pages in flight; on tensor cores they
 * are {@link #STAGES} buffers of {@code rows × stageColumns(rows)} bf16 (mk_common.cuh: kActivationStages,
 * stage_columns; a slice fills one, or part of one from 128 rows), and the ring must hold two tile groups: one being
 * computed, the next landing.
 *
 * @param pagesOffset byte offset of page 0 (1024-byte aligned: wgmma reads the pages' 128-byte swizzle from
 *     addresses whose bits 7..9 are the block row, mk_mma.cuh)
 * @param pages pages in the ring
 * @param bytes dynamic shared memory the launch asks for
 */
public record SharedMemoryPlan(int pagesOffset, int pages, int bytes) {
  public static final int HEADER_BYTES = 1024;
  public static final int SCRATCH_BYTES = 17 * 1024;
  public static final int ACTIVATION_OFFSET = HEADER_BYTES + SCRATCH_BYTES;
  public static final int MAX_PAGES = 12;
  /** The header holds a full and an empty mbarrier per page below this many pages. */
  static final int MIN_PAGES = 2;
  /** Activation slices the tensor-core path keeps in flight or being computed. */
  static final int STAGES = 2;
  /** Activations of one tensor-core slice buffer (all rows) at most. */
  static final int STAGE_BYTES = 32 * 1024;
  /** Tiles whose pages of one chunk the tensor-core path holds at once (mk_common.cuh, tile_group). */
  static final int TENSOR_CORE_TILE_GROUP = 4;

  /**
   * @param rows batch rows of the bucket
   * @param dims the model (its widest matvec input sizes the activation area)
   * @param maxSharedBytes the device's opt-in shared memory per block
   */
  public static SharedMemoryPlan of(int rows, ModelDims dims, int maxSharedBytes) {
    boolean tensorCores = rows > StreamBuilder.MAX_CUDA_CORE_ROWS;
    long activation = tensorCores ? (long) STAGES * rows * stageColumns(rows) * 2 : 2L * rows * dims.widestInput();
    long pagesOffset = (ACTIVATION_OFFSET + activation + 1023) / 1024 * 1024;
    long pages = Math.min(MAX_PAGES, (maxSharedBytes - pagesOffset) / TileLayout.PAGE_BYTES);
    int needed = tensorCores ? 2 * TENSOR_CORE_TILE_GROUP : MIN_PAGES;
    if (pages < needed) {
      throw new IllegalArgumentException("a bucket of " + rows + " rows with inputs " + dims.widestInput()
          + " wide leaves room for " + Math.max(0, pages) + " weight pages in " + maxSharedBytes
          + " bytes of shared memory; the megakernel needs " + needed);
    }
    return new SharedMemoryPlan((int) pagesOffset, (int) pages, (int) (pagesOffset + pages * TileLayout.PAGE_BYTES));
  }

  /**
   * Columns of all rows that one activation buffer of a tensor-core bucket holds (mk_common.cuh, stage_columns): the
   * area's size. Its slices are as wide, or one 64-column block from 128 rows (slice_columns).
   */
  static int stageColumns(int rows) {
    return Math.min(TileLayout.PAGE_COLUMNS, STAGE_BYTES / 2 / rows);
  }
}
