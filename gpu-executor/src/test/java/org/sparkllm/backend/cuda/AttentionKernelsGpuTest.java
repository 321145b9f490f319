package org.sparkllm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaEvent;
import org.sparkllm.cuda.CudaModule;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.cuda.GpuTests;
import org.sparkllm.cuda.KernelFatbin;
import org.sparkllm.cuda.PinnedHostBuffer;
import org.sparkllm.safetensors.HalfFloats;

/**
 * Attention kernels against a double-precision oracle. K/V live in plain device buffers laid out like the
 * vAttention cache and sized exactly to the positions used in the last slot, so a read past a query's
 * position shows up under compute-sanitizer. Outputs are poisoned with NaN before every run, and every
 * case runs twice and must give the same bits.
 */
@Tag("gpu")
class AttentionKernelsGpuTest {
  private static final double TOLERANCE = 1e-2;

  @BeforeEach
  void requireGpu() {
    GpuTests.assumeCudaDevice();
  }

  /** One prefill chunk: tokenCount tokens of a slot starting at firstPosition. */
  private record Chunk(int slot, int firstPosition, int tokenCount) {}

  @ParameterizedTest(name = "D={0} heads={1} kvHeads={2}")
  @CsvSource({"32, 4, 4", "64, 8, 4", "128, 8, 2", "64, 32, 8"})
  void prefillMatchesOracleOnMixedTiles(int headDim, int heads, int kvHeads) {
    // Tiles of 64, 17 and 1 tokens, several slots, chunked prefill at 100 and 1000 (a 130-token chunk
    // makes tiles of 64, 64 and 2).
    List<Chunk> chunks = List.of(new Chunk(1, 100, 64), new Chunk(0, 0, 17), new Chunk(3, 1000, 130),
        new Chunk(2, 0, 1));
    runPrefill(headDim, heads, kvHeads, chunks, 1200, null);
  }

  @Test
  void prefillMatchesOracleOnA2048TokenSequence() {
    // The oracle covers a third of the heads (all kv heads and group positions); NaN is checked everywhere.
    runPrefill(64, 32, 8, List.of(new Chunk(0, 0, 2048)), 2048, new int[] {0, 5, 10, 15, 20, 25, 30, 31});
  }

  private void runPrefill(int headDim, int heads, int kvHeads, List<Chunk> chunks, int maxContext,
      int[] checkedHeads) {
    Random random = new Random(1234 + headDim * 31L + heads);
    int tokens = chunks.stream().mapToInt(Chunk::tokenCount).sum();
    int lastSlot = chunks.stream().mapToInt(Chunk::slot).max().orElseThrow();
    int lastSlotPositions = chunks.stream().filter(c -> c.slot() == lastSlot)
        .mapToInt(c -> c.firstPosition() + c.tokenCount()).max().orElseThrow();
    Layout layout = new Layout(heads, kvHeads, headDim, maxContext);
    long cacheElements = lastSlot * layout.slotStrideElements() + (long) lastSlotPositions * kvHeads * headDim;
    short[] q = randomBf16(random, (long) tokens * heads * headDim);
    short[] k = randomBf16(random, cacheElements);
    short[] v = randomBf16(random, cacheElements);
    int[] tokenSlot = new int[tokens];
    int[] tokenPosition = new int[tokens];
    List<Integer> tileInts = new ArrayList<>();
    int token = 0;
    for (Chunk c : chunks) {
      for (int x : AttentionKernels.tilesFor(token, c.tokenCount(), c.slot(), c.firstPosition())) {
        tileInts.add(x);
      }
      for (int i = 0; i < c.tokenCount(); i++) {
        tokenSlot[token + i] = c.slot();
        tokenPosition[token + i] = c.firstPosition() + i;
      }
      token += c.tokenCount();
    }
    int[] tiles = tileInts.stream().mapToInt(Integer::intValue).toArray();

    try (Gpu gpu = new Gpu();
        AttentionKernels attention = new AttentionKernels(gpu.context, gpu.module, heads, kvHeads, headDim, 1);
        DeviceBuffer dq = gpu.upload(q);
        DeviceBuffer dk = gpu.upload(k);
        DeviceBuffer dv = gpu.upload(v);
        DeviceBuffer dTiles = gpu.upload(tiles);
        DeviceBuffer out = gpu.context.allocate((long) tokens * heads * headDim * 2)) {
      short[][] runs = new short[2][];
      for (int run = 0; run < 2; run++) {
        out.fill((byte) 0xFF, gpu.stream);
        attention.prefill(gpu.stream, dq.address(), dk.address(), dv.address(), layout.slotStrideBytes(),
            dTiles.address(), tiles.length / 4, out.address());
        runs[run] = gpu.downloadShorts(out);
      }
      assertArrayEquals(runs[0], runs[1], "second run is bit-identical");
      assertNoNaN(runs[0]);
      Error error = new Error();
      for (int t = 0; t < tokens; t++) {
        for (int h = 0; h < heads; h++) {
          if (checkedHeads == null || Arrays.binarySearch(checkedHeads, h) >= 0) {
            error.add(runs[0], oracle(layout, q, k, v, t, h, tokenSlot[t], tokenPosition[t]),
                ((long) t * heads + h) * headDim);
          }
        }
      }
      error.assertBelow(TOLERANCE, "prefill D=" + headDim + " heads=" + heads + "/" + kvHeads);
    }
  }

  @ParameterizedTest(name = "D={0} heads={1} kvHeads={2}")
  @CsvSource({"32, 4, 4", "64, 8, 4", "128, 8, 2", "64, 8, 1", "128, 32, 8"})
  void decodeMatchesOracle(int headDim, int heads, int kvHeads) {
    Random random = new Random(99 + headDim * 7L + heads * 3L + kvHeads);
    int[] lengths = {1, 2, 63, 64, 65, 700, 3000};
    int tokens = 9;
    int maxRows = 10;
    int maxContext = 3072;
    // Rows listed out of order; tokens 4 and 6 are no decode rows and their outputs must stay untouched.
    int[] rowTokens = {5, 0, 8, 2, 3, 7, 1};
    int largestLaunch = 64;
    int[] rows = new int[largestLaunch];  // a launch of n rows may read rows[0..n-1]
    Arrays.fill(rows, Integer.MAX_VALUE);  // past rowCount: never used as a token index
    int[] slots = new int[tokens];
    int[] positions = new int[tokens];
    Arrays.fill(positions, 1 << 20);  // tokens that are not rows: their positions must not matter
    for (int i = 0; i < rowTokens.length; i++) {
      rows[i] = rowTokens[i];
      slots[rowTokens[i]] = rowTokens.length - 1 - i;  // the last slot holds the 1-token row
      positions[rowTokens[i]] = lengths[i] - 1;
    }
    Layout layout = new Layout(heads, kvHeads, headDim, maxContext);
    long cacheElements = (rowTokens.length - 1) * layout.slotStrideElements() + (long) kvHeads * headDim;
    short[] q = randomBf16(random, (long) tokens * heads * headDim);
    short[] k = randomBf16(random, cacheElements);
    short[] v = randomBf16(random, cacheElements);

    try (Gpu gpu = new Gpu();
        AttentionKernels attention = new AttentionKernels(gpu.context, gpu.module, heads, kvHeads, headDim, largestLaunch);
        DeviceBuffer dq = gpu.upload(q);
        DeviceBuffer dk = gpu.upload(k);
        DeviceBuffer dv = gpu.upload(v);
        DeviceBuffer dRows = gpu.upload(rows);
        DeviceBuffer dCount = gpu.upload(new int[] {rowTokens.length});
        DeviceBuffer dSlots = gpu.upload(slots);
        DeviceBuffer dPositions = gpu.upload(positions);
        DeviceBuffer out = gpu.context.allocate((long) tokens * heads * headDim * 2)) {
      // One launch size that splits keys, and one (64 rows) that needs fewer or no splits.
      for (int launchRows : new int[] {maxRows, largestLaunch}) {
        short[][] runs = new short[2][];
        for (int run = 0; run < 2; run++) {
          out.fill((byte) 0xFF, gpu.stream);
          attention.decode(gpu.stream, dq.address(), dk.address(), dv.address(), layout.slotStrideBytes(),
              dRows.address(), dCount.address(), launchRows, dSlots.address(), dPositions.address(), out.address());
          runs[run] = gpu.downloadShorts(out);
        }
        assertArrayEquals(runs[0], runs[1], "second run is bit-identical");
        Error error = new Error();
        for (int t = 0; t < tokens; t++) {
          boolean isRow = false;
          for (int r : rowTokens) {
            isRow |= r == t;
          }
          for (int h = 0; h < heads; h++) {
            long at = ((long) t * heads + h) * headDim;
            if (!isRow) {
              for (int d = 0; d < headDim; d++) {
                assertEquals((short) 0xFFFF, runs[0][(int) at + d], "token " + t + " is no decode row");
              }
              continue;
            }
            for (int d = 0; d < headDim; d++) {
              assertFalse(Float.isNaN(HalfFloats.bf16ToFloat(runs[0][(int) at + d])), "NaN at token " + t);
            }
            error.add(runs[0], oracle(layout, q, k, v, t, h, slots[t], positions[t]), at);
          }
        }
        error.assertBelow(TOLERANCE, "decode D=" + headDim + " heads=" + heads + "/" + kvHeads + " launch rows "
            + launchRows + " (splits " + attention.splitsFor(launchRows) + ")");
      }
    }
  }

  @Test
  void rejectsInvalidArguments() {
    try (Gpu gpu = new Gpu()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> new AttentionKernels(gpu.context, gpu.module, 8, 2, 96, 4));
      assertTrue(e.getMessage().contains("96"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> new AttentionKernels(gpu.context, gpu.module, 8, 3, 64, 4));
      assertTrue(e.getMessage().contains("3"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> new AttentionKernels(gpu.context, gpu.module, 8, 2, 64, 0));
      assertTrue(e.getMessage().contains("0"), e.getMessage());
      try (AttentionKernels attention = new AttentionKernels(gpu.context, gpu.module, 8, 2, 64, 4)) {
        e = assertThrows(IllegalArgumentException.class,
            () -> attention.decode(gpu.stream, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0));
        assertTrue(e.getMessage().contains("5"), e.getMessage());
      }
    }
    assertArrayEquals(new int[] {10, 64, 3, 200, 74, 64, 3, 264, 138, 2, 3, 328},
        AttentionKernels.tilesFor(10, 130, 3, 200));
  }

  /** Prints prefill TFLOP/s (Llama-3.2-1B shape, 2048 tokens) and decode K/V GB/s; asserts only sanity. */
  @Test
  void timing() {
    int heads = 32;
    int kvHeads = 8;
    int headDim = 64;
    try (Gpu gpu = new Gpu();
        AttentionKernels attention = new AttentionKernels(gpu.context, gpu.module, heads, kvHeads, headDim, 256)) {
      Random random = new Random(7);
      int tokens = 2048;
      Layout layout = new Layout(heads, kvHeads, headDim, tokens);
      int[] tiles = AttentionKernels.tilesFor(0, tokens, 0, 0);
      try (DeviceBuffer q = gpu.upload(randomBf16(random, (long) tokens * heads * headDim));
          DeviceBuffer k = gpu.upload(randomBf16(random, layout.slotStrideElements()));
          DeviceBuffer v = gpu.upload(randomBf16(random, layout.slotStrideElements()));
          DeviceBuffer dTiles = gpu.upload(tiles);
          DeviceBuffer out = gpu.context.allocate((long) tokens * heads * headDim * 2)) {
        double millis = gpu.medianMillis(() -> attention.prefill(gpu.stream, q.address(), k.address(), v.address(),
            layout.slotStrideBytes(), dTiles.address(), tiles.length / 4, out.address()));
        double tflops = AttentionKernels.prefillFlops(tiles, heads, headDim) / (millis * 1e9);
        System.out.printf("attention prefill %s: 1B shape, %d tokens: %.3f ms, %.1f TFLOP/s%n",
            gpu.context.deviceName(), tokens, millis, tflops);
        assertTrue(tflops > 1, "prefill runs at a plausible rate");
        assertNoNaN(gpu.downloadShorts(out));
      }
      for (int[] shape : new int[][] {{1, 4096}, {256, 512}}) {
        decodeTiming(gpu, attention, random, heads, kvHeads, headDim, shape[0], shape[1]);
      }
    }
  }

  private static void decodeTiming(Gpu gpu, AttentionKernels attention, Random random, int heads, int kvHeads,
      int headDim, int batch, int context) {
    Layout layout = new Layout(heads, kvHeads, headDim, context);
    long cacheElements = batch * layout.slotStrideElements();
    int[] rows = new int[batch];
    int[] positions = new int[batch];
    for (int i = 0; i < batch; i++) {
      rows[i] = i;
      positions[i] = context - 1;
    }
    // Slot i for row i: slots equal rows here.
    try (DeviceBuffer q = gpu.upload(randomBf16(random, (long) batch * heads * headDim));
        DeviceBuffer k = gpu.upload(randomBf16(random, cacheElements));
        DeviceBuffer v = gpu.upload(randomBf16(random, cacheElements));
        DeviceBuffer dRows = gpu.upload(rows);
        DeviceBuffer dCount = gpu.upload(new int[] {batch});
        DeviceBuffer dPositions = gpu.upload(positions);
        DeviceBuffer out = gpu.context.allocate((long) batch * heads * headDim * 2)) {
      double millis = gpu.medianMillis(() -> attention.decode(gpu.stream, q.address(), k.address(), v.address(),
          layout.slotStrideBytes(), dRows.address(), dCount.address(), batch, dRows.address(), dPositions.address(),
          out.address()));
      double gbs = 2.0 * cacheElements * 2 / (millis * 1e6);
      System.out.printf("attention decode %s: batch %d, context %d, %d splits: %.1f us, %.0f GB/s of K/V%n",
          gpu.context.deviceName(), batch, context, attention.splitsFor(batch), millis * 1e3, gbs);
      assertTrue(gbs > 1, "decode runs at a plausible rate");
      assertNoNaN(gpu.downloadShorts(out));
    }
  }

  /** Head counts, head size and the cache's slot stride (maxContext positions per slot). */
  private record Layout(int heads, int kvHeads, int headDim, int maxContext) {
    long slotStrideElements() {
      return (long) maxContext * kvHeads * headDim;
    }

    long slotStrideBytes() {
      return 2 * slotStrideElements();
    }

    long cacheIndex(int slot, int position, int kvHead) {
      return slot * slotStrideElements() + ((long) position * kvHeads + kvHead) * headDim;
    }
  }

  /** Softmax(q k^T / sqrt(D)) v over positions 0..position of the slot, in double. */
  private static double[] oracle(Layout l, short[] q, short[] k, short[] v, int token, int head, int slot,
      int position) {
    int d = l.headDim();
    int kvHead = head / (l.heads() / l.kvHeads());
    long qAt = ((long) token * l.heads() + head) * d;
    double[] scores = new double[position + 1];
    double max = Double.NEGATIVE_INFINITY;
    for (int p = 0; p <= position; p++) {
      long kAt = l.cacheIndex(slot, p, kvHead);
      double dot = 0;
      for (int i = 0; i < d; i++) {
        dot += (double) bf16(q, qAt + i) * bf16(k, kAt + i);
      }
      scores[p] = dot / Math.sqrt(d);
      max = Math.max(max, scores[p]);
    }
    double sum = 0;
    for (int p = 0; p <= position; p++) {
      scores[p] = Math.exp(scores[p] - max);
      sum += scores[p];
    }
    double[] o = new double[d];
    for (int p = 0; p <= position; p++) {
      long vAt = l.cacheIndex(slot, p, kvHead);
      for (int i = 0; i < d; i++) {
        o[i] += scores[p] * bf16(v, vAt + i);
      }
    }
    for (int i = 0; i < d; i++) {
      o[i] /= sum;
    }
    return o;
  }

  /** Accumulates ||out - ref|| and ||ref|| over the checked rows. */
  private static final class Error {
    private double diff;
    private double ref;

    void add(short[] out, double[] expected, long at) {
      for (int i = 0; i < expected.length; i++) {
        double delta = bf16(out, at + i) - expected[i];
        diff += delta * delta;
        ref += expected[i] * expected[i];
      }
    }

    void assertBelow(double tolerance, String what) {
      double relative = Math.sqrt(diff / ref);
      System.out.printf("%s: ||d||/||ref|| = %.3e%n", what, relative);
      assertTrue(relative < tolerance, what + ": relative error " + relative);
    }
  }

  private static float bf16(short[] values, long index) {
    return HalfFloats.bf16ToFloat(values[Math.toIntExact(index)]);
  }

  private static void assertNoNaN(short[] values) {
    for (int i = 0; i < values.length; i++) {
      if (Float.isNaN(HalfFloats.bf16ToFloat(values[i]))) {
        throw new AssertionError("NaN (unwritten output?) at element " + i);
      }
    }
  }

  /** Values ~N(0, 1) rounded to bf16; never all zeros. */
  private static short[] randomBf16(Random random, long count) {
    short[] values = new short[Math.toIntExact(count)];
    for (int i = 0; i < values.length; i++) {
      values[i] = HalfFloats.floatToBf16((float) random.nextGaussian());
    }
    return values;
  }

  /** Context, the kernels module and a stream, with staging helpers that synchronise (test code only). */
  private static final class Gpu implements AutoCloseable {
    final CudaContext context = CudaContext.openPrimary(0);
    final CudaModule module = context.loadModule(KernelFatbin.read());
    final CudaStream stream = context.createStream();

    DeviceBuffer upload(short[] values) {
      DeviceBuffer buffer = context.allocate(2L * values.length);
      try (PinnedHostBuffer host = context.allocatePinned(2L * values.length)) {
        host.buffer().asShortBuffer().put(values);
        buffer.copyFrom(host, 2L * values.length, stream);
        stream.synchronize();
      }
      return buffer;
    }

    DeviceBuffer upload(int[] values) {
      DeviceBuffer buffer = context.allocate(4L * values.length);
      try (PinnedHostBuffer host = context.allocatePinned(4L * values.length)) {
        host.buffer().asIntBuffer().put(values);
        buffer.copyFrom(host, 4L * values.length, stream);
        stream.synchronize();
      }
      return buffer;
    }

    short[] downloadShorts(DeviceBuffer buffer) {
      try (PinnedHostBuffer host = context.allocatePinned(buffer.bytes())) {
        buffer.copyTo(host, buffer.bytes(), stream);
        stream.synchronize();
        ByteBuffer bytes = host.buffer();
        short[] values = new short[Math.toIntExact(buffer.bytes() / 2)];
        bytes.asShortBuffer().get(values);
        return values;
      }
    }

    /** Median of 20 timed launches after 5 warm-ups, in milliseconds. */
    double medianMillis(Runnable launch) {
      try (CudaEvent start = context.createEvent(); CudaEvent end = context.createEvent()) {
        for (int i = 0; i < 5; i++) {
          launch.run();
        }
        double[] millis = new double[20];
        for (int i = 0; i < millis.length; i++) {
          start.record(stream);
          launch.run();
          end.record(stream);
          end.synchronize();
          millis[i] = end.millisSince(start);
        }
        Arrays.sort(millis);
        return millis[millis.length / 2];
      }
    }

    @Override
    public void close() {
      stream.close();
      module.close();
      context.close();
    }
  }
}
