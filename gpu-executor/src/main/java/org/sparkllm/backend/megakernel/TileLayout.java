package org.sparkllm.backend.megakernel;

/**
 * How weights are laid out for the megakernel (kernels/src/main/cuda/megakernel/mk_common.cuh holds the
 * same constants). A matrix of R rows and K columns becomes ceil(R / 16) tiles of 16 rows (rows past R
 * are zero); tile t starts at element 16Kt and is K / 64 blocks of 16 rows × 64 columns (2 KiB) in column
 * order, each block row 128 bytes with its 16-byte chunks permuted by {@link #storedChunk}: Hopper's 128-byte
 * swizzle, as TMA and wgmma name it. A ring page is the blocks of 512 columns of one tile (fewer for the last):
 * contiguous, so one 1-D bulk copy brings it into shared memory (as it would at any whole number of blocks).
 * On CUDA cores
 * consumer warp w owns rows 2w and 2w + 1 of every tile and sums them over the whole tile without the other
 * warps; on tensor cores ldmatrix reads 16 bytes of 8 consecutive rows at once, which the permutation
 * spreads over all banks.
 */
public final class TileLayout {
  public static final int TILE_ROWS = 16;
  public static final int BLOCK_COLUMNS = 64;
  public static final int PAGE_COLUMNS = 512;
  public static final int PAGE_BYTES = TILE_ROWS * PAGE_COLUMNS * 2;

  private TileLayout() {}

  public static int tiles(int rows) {
    return (rows + TILE_ROWS - 1) / TILE_ROWS;
  }

  /**
   * Where logical 16-byte chunk {@code chunk} (columns 8·chunk .. 8·chunk + 7 of a 64-column block) of
   * block row {@code row} is stored: chunk XOR (row mod 8). Block rows are 128 bytes apart, so unpermuted,
   * the same chunk of 8 rows would sit in one bank group; permuted, an ldmatrix of 8 rows is conflict-free.
   * mk_retile writes this layout, mk_common.cuh's page_offset reads it.
   */
  public static int storedChunk(int chunk, int row) {
    return chunk ^ (row & 7);
  }

  /** Byte offset of element ({@code row}, {@code column}) in a page, column counted from the page's first. */
  public static int pageOffset(int row, int column) {
    return column / BLOCK_COLUMNS * TILE_ROWS * BLOCK_COLUMNS * 2 + row * BLOCK_COLUMNS * 2
        + storedChunk(column % BLOCK_COLUMNS / 8, row) * 16 + column % 8 * 2;
  }

  /** Pages per tile. */
  public static int pagesPerTile(int columns) {
    return (columns + PAGE_COLUMNS - 1) / PAGE_COLUMNS;
  }

  /** Bytes of the tiled copy of a matrix (padding rows included). */
  public static long tiledBytes(int rows, int columns) {
    return 2L * TILE_ROWS * tiles(rows) * columns;
  }

  /**
   * The row of the CUDA backend's fused q/k/v matrix ([q heads][k heads][v heads], each head D rows)
   * that becomes row {@code tiledRow} of the megakernel's copy. The copy is ordered by KV group
   * (group g: its query heads, key head g, value head g), so attention on group g waits only for the
   * tiles of that group; inside a query or key head, rows 2i and 2i + 1 are the RoPE pair (i, i + D/2),
   * so each warp's two rows of a tile are one whole pair, rotated in its epilogue. Value heads keep
   * their order.
   */
  public static int qkvSourceRow(ModelDims d, int tiledRow) {
    int dim = d.headDim();
    int group = tiledRow / d.qkvGroupRows();
    int inGroup = tiledRow % d.qkvGroupRows();
    int headInGroup = inGroup / dim;
    int r = inGroup % dim;
    int headStart;
    if (headInGroup < d.group()) {
      headStart = (group * d.group() + headInGroup) * dim;
    } else if (headInGroup == d.group()) {
      headStart = d.qDim() + group * dim;
    } else {
      return d.qDim() + d.kvDim() + group * dim + r;
    }
    return headStart + (r % 2 == 0 ? r / 2 : r / 2 + dim / 2);
  }

  /** {@link #qkvSourceRow} for every row, the table the re-tiling kernel reads. */
  public static int[] qkvSourceRows(ModelDims d) {
    int[] rows = new int[d.qkvRows()];
    for (int r = 0; r < rows.length; r++) {
      rows[r] = qkvSourceRow(d, r);
    }
    return rows;
  }

  /** The KV group whose rows hold tile {@code tile} of the re-tiled q/k/v matrix. */
  public static int qkvGroupOfTile(ModelDims d, int tile) {
    return tile * TILE_ROWS / d.qkvGroupRows();
  }

  /** Tiles per KV group of the q/k/v matrix (whole: head_dim is a multiple of 16). */
  public static int qkvTilesPerGroup(ModelDims d) {
    return d.qkvGroupRows() / TILE_ROWS;
  }
}
