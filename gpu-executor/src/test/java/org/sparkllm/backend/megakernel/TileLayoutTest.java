package org.sparkllm.backend.megakernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TileLayoutTest {

  @Test
  void qkvRowsArePermutedIntoGroupsWithRopePairsAdjacent() {
    for (ModelDims d : new ModelDims[] {StreamBuilderTest.TINY, StreamBuilderTest.LLAMA_1B, StreamBuilderTest.ODD,
        StreamBuilderTest.WIDE_GROUPS}) {
      int[] source = TileLayout.qkvSourceRows(d);
      Set<Integer> distinct = new HashSet<>();
      for (int s : source) {
        assertTrue(s >= 0 && s < d.qkvRows());
        distinct.add(s);
      }
      assertEquals(d.qkvRows(), distinct.size(), "a permutation");
      int dim = d.headDim();
      for (int g = 0; g < d.kvHeads(); g++) {
        int base = g * d.qkvGroupRows();
        for (int j = 0; j < d.group(); j++) {
          int head = g * d.group() + j;
          for (int i = 0; i < dim / 2; i++) {
            assertEquals(head * dim + i, source[base + j * dim + 2 * i]);
            assertEquals(head * dim + i + dim / 2, source[base + j * dim + 2 * i + 1]);
          }
        }
        int key = base + d.group() * dim;
        assertEquals(d.qDim() + g * dim + 1, source[key + 2]);
        assertEquals(d.qDim() + g * dim + dim / 2 + 1, source[key + 3]);
        assertEquals(d.qDim() + d.kvDim() + g * dim + 5, source[key + dim + 5]);
        assertEquals(g, TileLayout.qkvGroupOfTile(d, base / TileLayout.TILE_ROWS));
      }
    }
  }

  @Test
  void pagesCoverSixteenRowsOfUpTo512Columns() {
    assertEquals(16384, TileLayout.PAGE_BYTES);
    assertEquals(TileLayout.TILE_ROWS, 8 * 2, "two rows for each of the 8 consumer warps");
    assertEquals(4, TileLayout.pagesPerTile(2048));
    assertEquals(16, TileLayout.pagesPerTile(8192));
    assertEquals(6, TileLayout.pagesPerTile(3072));
    assertEquals(3, TileLayout.pagesPerTile(1400), "a narrow last page");
    assertEquals(8016, TileLayout.tiles(128256));
    assertEquals(2L * 16 * 3 * 100, TileLayout.tiledBytes(40, 100), "40 rows pad to 3 tiles");
  }

  @Test
  void everyKvGroupIsWholeTilesSoAWarpsRowPairIsOneRopePair() {
    for (ModelDims d : new ModelDims[] {StreamBuilderTest.TINY, StreamBuilderTest.LLAMA_1B, StreamBuilderTest.LLAMA_3B,
        StreamBuilderTest.WIDE_GROUPS}) {
      assertEquals(0, d.qkvGroupRows() % TileLayout.TILE_ROWS, "no tile straddles two KV groups");
      assertEquals(d.qkvGroupRows() / TileLayout.TILE_ROWS, TileLayout.qkvTilesPerGroup(d));
      int[] source = TileLayout.qkvSourceRows(d);
      int firstKeyRow = d.group() * d.headDim(); // group 0's key head, rows 2w and 2w + 1 of its tiles
      for (int r = 0; r < d.headDim(); r += 2) {
        assertEquals(source[firstKeyRow + r] + d.headDim() / 2, source[firstKeyRow + r + 1]);
      }
    }
  }

  @Test
  void sharedMemoryTradesPagesForStagedRows() {
    int h100 = 232448;
    SharedMemoryPlan one = SharedMemoryPlan.of(1, StreamBuilderTest.LLAMA_1B, h100);
    SharedMemoryPlan four = SharedMemoryPlan.of(StreamBuilder.MAX_CUDA_CORE_ROWS, StreamBuilderTest.LLAMA_1B, h100);
    assertEquals(SharedMemoryPlan.MAX_PAGES, one.pages());
    assertEquals(9, four.pages());
    assertEquals(0, four.pagesOffset() % 1024);
    assertTrue(four.bytes() <= h100 && one.bytes() <= h100);
    assertEquals(SharedMemoryPlan.ACTIVATION_OFFSET + 4 * 8192 * 2, four.pagesOffset());
    ModelDims llama70b = new ModelDims(8192, 80, 64, 8, 128, 28672, 128256);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SharedMemoryPlan.of(4, llama70b, h100));
    assertTrue(e.getMessage().contains("4 rows"), e.getMessage());
  }

  @Test
  void tensorCoreBucketsHoldTwoTileGroupsOfPagesNextToTheSliceBuffers() {
    int h100 = 232448;
    for (ModelDims d : new ModelDims[] {StreamBuilderTest.TINY, StreamBuilderTest.LLAMA_1B, StreamBuilderTest.LLAMA_3B}) {
      for (int rows = 16; rows <= 256; rows *= 2) {
        SharedMemoryPlan plan = SharedMemoryPlan.of(rows, d, h100);
        assertTrue(plan.pages() >= 2 * SharedMemoryPlan.TENSOR_CORE_TILE_GROUP, rows + " rows: " + plan);
        assertTrue(plan.bytes() <= h100);
        assertEquals(0, plan.pagesOffset() % 1024);
        assertTrue(plan.pagesOffset() >= SharedMemoryPlan.ACTIVATION_OFFSET
            + SharedMemoryPlan.STAGES * rows * SharedMemoryPlan.stageColumns(rows) * 2, "the slice buffers");
        assertEquals(0, TileLayout.PAGE_COLUMNS % SharedMemoryPlan.stageColumns(rows), "slices tile a page's chunk");
      }
    }
    assertEquals(9, SharedMemoryPlan.of(256, StreamBuilderTest.LLAMA_1B, h100).pages());
  }

  @Test
  void pageOffsetsPermuteEachBlockRowAndSpreadEightRowsOverEveryBankGroup() {
    Set<Integer> offsets = new HashSet<>();
    for (int row = 0; row < TileLayout.TILE_ROWS; row++) {
      for (int column = 0; column < TileLayout.PAGE_COLUMNS; column++) {
        int at = TileLayout.pageOffset(row, column);
        assertEquals(column / 64, at / 2048, "a column stays in its 64-column block");
        assertEquals(row, at % 2048 / 128, "a block row is 128 bytes");
        offsets.add(at);
      }
    }
    assertEquals(TileLayout.PAGE_BYTES / 2, offsets.size(), "every element of a full page has its own place");
    assertEquals(8192, TileLayout.pageOffset(0, 256), "the second half of a 512-column page is the next 8 KiB");
    for (int chunk = 0; chunk < 8; chunk++) {
      assertEquals(chunk, TileLayout.storedChunk(TileLayout.storedChunk(chunk, 5), 5), "its own inverse");
    }
    for (int first : new int[] {0, 8}) { // an ldmatrix reads one chunk of rows first .. first + 7
      for (int column = 0; column < 512; column += 8) {
        Set<Integer> bankGroups = new HashSet<>(); // 16-byte bank group of the chunk: bytes 4..6 of the offset
        for (int row = first; row < first + 8; row++) {
          bankGroups.add(TileLayout.pageOffset(row, column) / 16 % 8);
        }
        assertEquals(8, bankGroups.size(), "column " + column + " of rows " + first + ".." + (first + 7));
      }
    }
    for (int row = 0; row < TileLayout.TILE_ROWS; row++) { // a CUDA-core warp's 32 lanes read one row's 256 columns
      Set<Integer> bankGroups = new HashSet<>();
      for (int lane = 0; lane < 8; lane++) {
        bankGroups.add(TileLayout.pageOffset(row, 8 * lane) / 16 % 8);
      }
      assertEquals(8, bankGroups.size(), "8 lanes, one 128-byte wavefront, row " + row);
    }
  }

  @Test
  void shapesTheKernelsCannotRunAreRejectedNamingTheValue() {
    IllegalArgumentException d = assertThrows(IllegalArgumentException.class,
        () -> new ModelDims(128, 1, 4, 2, 48, 384, 512));
    assertTrue(d.getMessage().contains("48"));
    assertThrows(IllegalArgumentException.class, () -> new ModelDims(128, 1, 6, 4, 32, 384, 512));
    assertThrows(IllegalArgumentException.class, () -> new ModelDims(132, 1, 4, 2, 32, 384, 512));
    IllegalArgumentException narrow = assertThrows(IllegalArgumentException.class,
        () -> new ModelDims(160, 1, 5, 1, 32, 384, 512));
    assertTrue(narrow.getMessage().contains("160") && narrow.getMessage().contains("64"), narrow.getMessage());
  }
}
