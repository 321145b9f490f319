package org.sparkllm.backend.megakernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkllm.backend.LogitsComparison.argmax;
import static org.sparkllm.backend.LogitsComparison.relativeError;
import static org.sparkllm.backend.LogitsComparison.squares;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.sparkllm.TestModels;
import org.sparkllm.backend.Backend;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.ForwardBatch.Chunk;
import org.sparkllm.backend.Sampling;
import org.sparkllm.backend.cuda.CudaBackend;
import org.sparkllm.backend.cuda.CudaBackendOptions;
import org.sparkllm.checkpoint.ModelShape;
import org.sparkllm.cuda.GpuTests;
import org.sparkllm.engine.Engine;
import org.sparkllm.engine.EngineOptions;
import org.sparkllm.engine.GenerationRequest;
import org.sparkllm.engine.GenerationResult;
import org.sparkllm.engine.SamplingParams;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.safetensors.ModelTensors;

/**
 * The megakernel against the CUDA backend's CUDA-graph decode path (itself tested against the CPU
 * reference and transformers): the same prompts prefilled on both, then decode steps with growing
 * contexts fed the reference's argmax, logits compared every step. Also: the watchdog, many steps in a
 * row, and decode time next to the graph path. Llama-3.2-1B- and 3B-shaped runs use SPARKLLM_MEGAKERNEL_1B
 * and SPARKLLM_MEGAKERNEL_3B (checkpoint directories) when set, else generate the checkpoint into
 * target/test-models.
 */
@Tag("gpu")
class MegakernelBackendGpuTest {
  /**
   * Issue 6's bar: ||d||/||ref|| over all logit rows one batch compares in its 64 steps. Not per row: two bf16
   * implementations that sum in different fp32 orders drift apart in single rows (as CudaBackendGpuTest's bf16
   * model shows against the fp32 reference), so a per-row 1e-2 would fail by construction.
   */
  static final double TOLERANCE = 1e-2;
  /** Per-row sanity bound, as CudaBackendGpuTest's. */
  static final double ROW_TOLERANCE = 3e-2;
  static final int STEPS = 64;
  /** Every bucket on the megakernel (the default leaves steps above 8 rows to the graph path). */
  static final MegakernelOptions ALL_BUCKETS =
      MegakernelOptions.defaults().withMaxRows(MegakernelOptions.MAX_ROWS);

  @BeforeEach
  void requireGpu() {
    GpuTests.assumeCudaDevice();
  }

  @ParameterizedTest
  @EnumSource(names = {"TINY", "TINY_LLAMA3ROPE"})
  void logitsMatchTheGraphPathOnTinyShapes(ModelShape shape) {
    compare(TestModels.of(shape), new int[] {1, 2, 7, 8, 16, 64}, STEPS);
  }

  /** Every tensor-core bucket, each with padded rows (a batch one short of its bucket or just past the one below). */
  @Test
  void logitsMatchTheGraphPathOnTheTinyShapeInEveryTensorCoreBucket() {
    compare(TestModels.tiny(), new int[] {9, 31, 33, 127, 200}, 16);
  }

  /** At 64 rows on 132 SMs its O_PROJ runs in 3 K pieces and its DOWN in 4 (StreamBuilder.pieces). */
  @Test
  void logitsMatchTheGraphPathOnAnOddShapeWithNoCodeChange() {
    compare(TestModels.of(ModelShape.ODD_3_LAYERS), new int[] {1, 7, 64}, STEPS);
  }

  @Test
  void logitsMatchTheGraphPathOnLlama1BAtBatch1And7() {
    compare(llama1b(), new int[] {1, 7}, STEPS);
  }

  /** The tensor-core path at the acceptance's batches. */
  @Test
  void logitsMatchTheGraphPathOnLlama1BAtBatch64And256() {
    compare(llama1b(), new int[] {64, 256}, STEPS);
  }

  /** Wider rows (hidden 3072, head_dim 128, groups of 3): 16 steps keep the 28 layers' run short. */
  @Test
  void logitsMatchTheGraphPathOnLlama3BAtBatch1() {
    compare(llama3b(), new int[] {1}, 16);
  }

  @Test
  void theWatchdogFailsALostStepAndTheNextStepRecovers() {
    Path model = TestModels.tiny();
    LlamaConfig config = LlamaConfig.read(model);
    try (ModelTensors tensors = ModelTensors.open(model);
        MegakernelBackend mk = MegakernelBackend.load(config, tensors, options(1024),
            ALL_BUCKETS.withWatchdogMillis(200))) {
      int slot = mk.kvCache().acquireSlot();
      assertTrue(mk.kvCache().ensureCapacity(slot, 64));
      ForwardBatch prompt = new ForwardBatch(List.of(new Chunk(slot, 0, new int[] {5, 6, 7}, true)));
      mk.forward(prompt);
      float[] before = mk.forward(decode(slot, 3, 9))[0];
      mk.loseSteps(1, 3);
      long start = System.nanoTime();
      MegakernelWatchdogException e =
          assertThrows(MegakernelWatchdogException.class, () -> mk.forward(decode(slot, 3, 9)));
      double seconds = (System.nanoTime() - start) / 1e9;
      System.out.println("watchdog after " + seconds + " s: " + e.getMessage());
      // The first spin to give up names a counter or a flagged word (its writer waits on a counter)
      assertTrue(e.getMessage().contains("counter") || e.getMessage().contains("flagged"), e.getMessage());
      assertTrue(seconds < 10, "the failure came after " + seconds + " s");
      float[] after = mk.forward(decode(slot, 3, 9))[0];
      assertTrue(relativeError(before, after) < 1e-6, "the step after a failure recomputes the same logits");
    }
  }

  @Test
  void tenThousandStepsNeitherHangNorDrift() {
    Path model = TestModels.tiny();
    LlamaConfig config = LlamaConfig.read(model);
    try (ModelTensors tensors = ModelTensors.open(model);
        MegakernelBackend mk = MegakernelBackend.load(config, tensors, options(1024), ALL_BUCKETS);
        CudaBackend graph = CudaBackend.load(config, tensors, options(1024))) {
      Twin twin = new Twin(graph, mk);
      Random random = new Random(3);
      int rows = 3;
      int[] slots = new int[rows];
      for (int r = 0; r < rows; r++) {
        slots[r] = twin.acquire(1024);
      }
      int[] positions = new int[rows];
      int[] tokens = random.ints(rows, 0, config.vocabSize()).toArray();
      long start = System.nanoTime();
      for (int s = 0; s < 10_000; s++) {
        List<Chunk> chunks = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
          if (positions[r] == 1000) { // start over: the same slot, a fresh sequence
            positions[r] = 0;
          }
          chunks.add(new Chunk(slots[r], positions[r], new int[] {tokens[r]}, true));
        }
        int[] next;
        if (s % 500 == 0) {
          next = twin.step(chunks);
        } else {
          next = mk.forwardAndSample(twin.onMegakernel(chunks), greedy(rows));
          twin.graph.forwardAndSample(twin.onGraph(chunks), greedy(rows)); // keeps the reference's cache in step
        }
        for (int r = 0; r < rows; r++) {
          assertTrue(next[r] >= 0 && next[r] < config.vocabSize(), "token " + next[r]);
          tokens[r] = next[r];
          positions[r]++;
        }
      }
      System.out.printf("10,000 megakernel steps (3 rows) and their reference in %.1f s%n",
          (System.nanoTime() - start) / 1e9);
    }
  }

  /**
   * Greedy rows take the kernel's argmax; the others are drawn in the same launch by its SAMPLE instructions,
   * which must pick what the graph path's device sampler picks: at these batch sizes the logits are the same
   * to the bit, and both samplers sum fixed-point masses exactly.
   */
  @Test
  void tokensComeFromTheKernelAndSampledRowsMatchTheDeviceSampler() {
    Path model = TestModels.tiny();
    LlamaConfig config = LlamaConfig.read(model);
    try (ModelTensors tensors = ModelTensors.open(model);
        MegakernelBackend mk = MegakernelBackend.load(config, tensors, options(1024), ALL_BUCKETS)) {
      int rows = 4;
      List<Chunk> prompts = new ArrayList<>();
      List<Chunk> decode = new ArrayList<>();
      List<Chunk> later = new ArrayList<>(); // position 4: the context of `decode` stays as it is
      for (int r = 0; r < rows; r++) {
        int slot = mk.kvCache().acquireSlot();
        assertTrue(mk.kvCache().ensureCapacity(slot, 64));
        prompts.add(new Chunk(slot, 0, new int[] {1 + r, 2, 3 + r}, true));
        decode.add(new Chunk(slot, 3, new int[] {9 + r}, true));
        later.add(new Chunk(slot, 4, new int[] {20 + r}, true));
      }
      mk.forward(new ForwardBatch(prompts));
      ForwardBatch step = new ForwardBatch(decode);
      float[][] logits = mk.forward(step); // writes position 3 of each row; the steps below write it again
      int[] tokens = mk.forwardAndSample(step, greedy(rows));
      for (int r = 0; r < rows; r++) {
        assertEquals(argmax(logits[r]), tokens[r], "row " + r);
      }
      for (int draw = 0; draw < 16; draw++) {
        List<Sampling> mixed = List.of(Sampling.greedy(), new Sampling(1.0f, 0, 1, 0, 7 + draw, draw),
            new Sampling(0.8f, 5, 0.9f, 0, 11 + draw, draw), new Sampling(1.3f, 0, 0.95f, 0.05f, 13 + draw, draw));
        mk.forward(new ForwardBatch(later)); // other logits: a step that samples must store its own
        int[] kernel = mk.forwardAndSample(step, mixed);
        int[] graph = mk.cuda().forwardAndSample(step, mixed);
        assertEquals(Arrays.toString(graph), Arrays.toString(kernel), "draw " + draw);
        assertEquals(argmax(logits[0]), kernel[0], "the greedy row of draw " + draw);
      }
    }
  }

  /**
   * Steps launched ahead (MegakernelOptions.launchAhead) against the graph path on twin slots of the same tiny
   * model, token for token: decode steps that go on (used ahead), a row left out of a batch (a partial match in
   * the same bucket), a finished sequence's slot released, a new sequence prefilled alone (the step ahead
   * dropped) and one prefilled in the same step as the decode rows (which keep the step ahead), and a row that
   * samples (no step ahead).
   */
  @Test
  void stepsLaunchedAheadGiveTheGraphPathsTokensWhateverTheNextBatch() {
    Path model = TestModels.tiny();
    LlamaConfig config = LlamaConfig.read(model);
    try (ModelTensors tensors = ModelTensors.open(model);
        MegakernelBackend mk = MegakernelBackend.load(config, tensors, options(1024, 16),
            ALL_BUCKETS.withLaunchAheadAfter(1))) { // after every continued step: every path, in a few steps
      Random random = new Random(11);
      List<int[]> rows = new ArrayList<>(); // {megakernel slot, graph slot, position, token}
      for (int r = 0; r < 4; r++) {
        rows.add(newSequence(mk, random, config.vocabSize()));
      }
      for (int s = 0; s < 34; s++) { // at most 4 rows: the CUDA-core buckets sum as the graph path does
        List<int[]> batch = new ArrayList<>(rows);
        if (s >= 10 && s < 14) {
          batch.remove(2); // left out for a few steps, not finished: 3 rows stay in bucket 4
        }
        if (s == 20) { // row 0 finished: its slots go back to the pool while the step ahead may write them
          int[] done = rows.remove(0);
          mk.kvCache().releaseSlot(done[0]);
          mk.kvCache().releaseSlot(done[1]);
          batch.remove(done);
        }
        if (s == 25) { // a new sequence: its prefill runs on the graph path
          int[] fresh = newSequence(mk, random, config.vocabSize());
          rows.add(fresh);
          batch.add(fresh);
        }
        if (s == 33) { // a prompt joins the decode rows in one step: they keep the step launched ahead
          int[] prompt = random.ints(5, 0, config.vocabSize()).toArray();
          int a = mk.kvCache().acquireSlot();
          int b = mk.kvCache().acquireSlot();
          assertTrue(mk.kvCache().ensureCapacity(a, 64) && mk.kvCache().ensureCapacity(b, 64));
          long usedBefore = mk.launchesAhead().used();
          List<Chunk> onMk = new ArrayList<>();
          List<Chunk> decodeOnGraph = new ArrayList<>();
          for (int[] r : batch) {
            onMk.add(new Chunk(r[0], r[2], new int[] {r[3]}, true));
            decodeOnGraph.add(new Chunk(r[1], r[2], new int[] {r[3]}, true));
          }
          onMk.add(new Chunk(a, 0, prompt, true));
          int[] kernel = mk.forwardAndSample(new ForwardBatch(onMk), greedy(onMk.size()));
          // The reference: the decode rows on the graph path's decode step, the prompt alone.
          int[] graph = Arrays.copyOf(mk.cuda().forwardAndSample(new ForwardBatch(decodeOnGraph),
              greedy(decodeOnGraph.size())), onMk.size());
          graph[onMk.size() - 1] = mk.cuda().forwardAndSample(
              new ForwardBatch(List.of(new Chunk(b, 0, prompt, true))), greedy(1))[0];
          assertEquals(Arrays.toString(graph), Arrays.toString(kernel), "step " + s + ", a prompt joining");
          assertEquals(usedBefore + 1, mk.launchesAhead().used(), "the decode rows took the step launched ahead");
          for (int i = 0; i < batch.size(); i++) {
            batch.get(i)[2]++;
            batch.get(i)[3] = kernel[i];
          }
          break; // the last step (a fifth row would leave the CUDA-core buckets)
        }
        List<Sampling> sampling = greedy(batch.size());
        if (s == 30) {
          sampling.set(1, new Sampling(1.0f, 0, 1, 0, 5, s));
        }
        List<Chunk> onMk = new ArrayList<>();
        List<Chunk> onGraph = new ArrayList<>();
        for (int[] r : batch) {
          onMk.add(new Chunk(r[0], r[2], new int[] {r[3]}, true));
          onGraph.add(new Chunk(r[1], r[2], new int[] {r[3]}, true));
        }
        int[] kernel = mk.forwardAndSample(new ForwardBatch(onMk), sampling);
        int[] graph = mk.cuda().forwardAndSample(new ForwardBatch(onGraph), sampling);
        assertEquals(Arrays.toString(graph), Arrays.toString(kernel), "step " + s);
        for (int i = 0; i < batch.size(); i++) {
          batch.get(i)[2]++;
          batch.get(i)[3] = kernel[i];
        }
      }
      MegakernelBackend.LaunchesAhead ahead = mk.launchesAhead();
      System.out.println("steps launched ahead: " + ahead);
      assertTrue(ahead.used() >= 20, ahead.toString());
      assertTrue(ahead.launched() > ahead.used(), "some were dropped: " + ahead);
    }
  }

  /** A prompt of 5 random tokens prefilled on both twins' slots: {megakernel slot, graph slot, 5, its token}. */
  private static int[] newSequence(MegakernelBackend mk, Random random, int vocab) {
    int[] prompt = random.ints(5, 0, vocab).toArray();
    int a = mk.kvCache().acquireSlot();
    int b = mk.kvCache().acquireSlot();
    assertTrue(mk.kvCache().ensureCapacity(a, 64) && mk.kvCache().ensureCapacity(b, 64));
    int token = mk.forwardAndSample(new ForwardBatch(List.of(new Chunk(a, 0, prompt, true))), greedy(1))[0];
    int twin = mk.cuda().forwardAndSample(new ForwardBatch(List.of(new Chunk(b, 0, prompt, true))), greedy(1))[0];
    assertEquals(twin, token, "prefill");
    return new int[] {a, b, 5, token};
  }

  @Test
  void byDefaultStepsAboveSixteenRowsRunOnTheGraphPath() {
    Path model = TestModels.tiny();
    LlamaConfig config = LlamaConfig.read(model);
    try (ModelTensors tensors = ModelTensors.open(model);
        MegakernelBackend mk = MegakernelBackend.load(config, tensors, options(1024), MegakernelOptions.defaults())) {
      assertTrue(mk.runsOnMegakernel(decodeStep(MegakernelOptions.DEFAULT_MAX_ROWS)));
      assertFalse(mk.runsOnMegakernel(decodeStep(MegakernelOptions.DEFAULT_MAX_ROWS + 1)));
    }
  }

  private static ForwardBatch decodeStep(int rows) {
    List<Chunk> chunks = new ArrayList<>();
    for (int r = 0; r < rows; r++) {
      chunks.add(new Chunk(r, 1, new int[] {0}, true));
    }
    return new ForwardBatch(chunks);
  }

  @Test
  void theEngineRunsOnTheMegakernelDeterministically() throws Exception {
    Path model = TestModels.tiny();
    EngineOptions options = EngineOptions.defaults().withMaxSequences(12).withMaxContextTokens(256);
    List<GenerationResult> first = generate(model, options);
    List<GenerationResult> second = generate(model, options);
    for (int i = 0; i < first.size(); i++) {
      assertEquals(maxTokens(i), first.get(i).completionTokens());
      assertEquals(Arrays.toString(first.get(i).completionTokenIds()),
          Arrays.toString(second.get(i).completionTokenIds()), "request " + i);
    }
  }

  /** Lengths differ, so the batch shrinks step by step through every bucket. */
  private static int maxTokens(int request) {
    return 12 + 2 * (request % 7);
  }

  /** 12 requests: the batch runs in the tensor-core bucket of 16 rows, the tail in the CUDA-core ones. */
  private static List<GenerationResult> generate(Path model, EngineOptions options) throws Exception {
    try (Engine engine = Engine.open(model, options, "megakernel:0")) {
      assertEquals("megakernel", engine.backend().name());
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        SamplingParams sampling = i % 2 == 0 ? SamplingParams.greedy() : new SamplingParams(0.9, 40, 0.95, 0.0, i);
        futures.add(engine.submit(GenerationRequest.prompt("request number " + i + " says")
            .withMaxTokens(maxTokens(i)).withIgnoreEos(true).withSampling(sampling)));
      }
      List<GenerationResult> results = new ArrayList<>();
      for (CompletableFuture<GenerationResult> f : futures) {
        results.add(f.get());
      }
      return results;
    }
  }

  @Test
  void decodeTimeAtBatch1NextToTheGraphPath() {
    Path model = llama1b();
    LlamaConfig config = LlamaConfig.read(model);
    try (ModelTensors tensors = ModelTensors.open(model);
        MegakernelBackend mk = MegakernelBackend.load(config, tensors, options(2048, 256),
            ALL_BUCKETS)) {
      for (int batch : new int[] {1, 8, 16, 64, 256}) {
        double graph = medianStepMicros(mk.cuda(), batch, 512, 200);
        double kernel = medianStepMicros(mk, batch, 512, 200);
        System.out.printf("decode step, batch %d, context 512: graph path %.0f us, megakernel %.0f us (%.2fx)%n",
            batch, graph, kernel, graph / kernel);
      }
      for (int pages : new int[] {1, 2, 3, 4, 12}) {
        mk.setLoader(pages, MegakernelOptions.DEFAULT_L2_PREFETCH_PAGES);
        System.out.printf("decode step, batch 1, context 512, %d page copies in flight: megakernel %.0f us%n", pages,
            medianStepMicros(mk, 1, 512, 200));
      }
      for (int window : new int[] {0, 8, 16, 32}) {
        mk.setLoader(MegakernelOptions.DEFAULT_PAGES_IN_FLIGHT, window);
        for (int batch : new int[] {1, 2}) {
          System.out.printf("decode step, batch %d, context 512, L2 window of %d pages: megakernel %.0f us%n", batch,
              window, medianStepMicros(mk, batch, 512, 200));
        }
      }
      System.out.printf("weights: %.2f GB (the megakernel's tiled copy: %.2f GB)%n", mk.cuda().weightBytes() / 1e9,
          mk.tiledWeightBytes() / 1e9);
    }
    try (ModelTensors tensors = ModelTensors.open(model);
        MegakernelBackend timed = MegakernelBackend.load(config, tensors, options(2048, 256),
            ALL_BUCKETS.withTiming(true))) {
      for (int batch : new int[] {1, 64, 256}) {
        medianStepMicros(timed, batch, 512, 50);
        System.out.println("per-instruction breakdown, batch " + batch + " (timing on):\n" + timed.timings());
        timed.timings().clear();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  static CudaBackendOptions options(int maxContext) {
    return options(maxContext, 8);
  }

  static CudaBackendOptions options(int maxContext, int maxSlots) {
    return new CudaBackendOptions(0, maxSlots, 512, maxContext, 0.3, true);
  }

  static Path llama1b() {
    String dir = System.getenv("SPARKLLM_MEGAKERNEL_1B");
    return dir != null && !dir.isBlank() ? Path.of(dir) : TestModels.of(ModelShape.LLAMA_3_2_1B);
  }

  static Path llama3b() {
    String dir = System.getenv("SPARKLLM_MEGAKERNEL_3B");
    return dir != null && !dir.isBlank() ? Path.of(dir) : TestModels.of(ModelShape.LLAMA_3_2_3B);
  }

  /**
   * For each batch size: fresh sequences with prompts of different lengths prefilled on both backends,
   * then {@code steps} decode steps, logits compared row by row.
   */
  private static void compare(Path model, int[] batches, int steps) {
    LlamaConfig config = LlamaConfig.read(model);
    int maxSlots = Math.max(8, Arrays.stream(batches).max().orElseThrow());
    try (ModelTensors tensors = ModelTensors.open(model);
        CudaBackend graph = CudaBackend.load(config, tensors, options(1024, maxSlots));
        MegakernelBackend mk = MegakernelBackend.load(config, tensors, options(1024, maxSlots),
            ALL_BUCKETS)) {
      Random random = new Random(17);
      for (int batch : batches) {
        Twin twin = new Twin(graph, mk);
        int[] slots = new int[batch];
        int[] positions = new int[batch];
        int[] tokens = new int[batch];
        List<Chunk> prompts = new ArrayList<>();
        for (int r = 0; r < batch; r++) {
          slots[r] = twin.acquire(600);
          positions[r] = 1 + random.nextInt(r == 0 ? 300 : 80); // one long context, the others short
          prompts.add(new Chunk(slots[r], 0, random.ints(positions[r], 0, config.vocabSize()).toArray(), true));
        }
        for (Chunk p : prompts) { // one prefill per step: the steps stay under maxBatchTokens
          tokens[prompts.indexOf(p)] = twin.step(List.of(p))[0];
        }
        for (int s = 0; s < steps; s++) {
          List<Chunk> chunks = new ArrayList<>();
          for (int r = 0; r < batch; r++) {
            chunks.add(new Chunk(slots[r], positions[r], new int[] {tokens[r]}, true));
          }
          tokens = twin.step(chunks);
          for (int r = 0; r < batch; r++) {
            positions[r]++;
          }
        }
        assertEquals(batch * (steps + 1), twin.compared);
        twin.release();
        String summary = String.format("%s, batch %d, %d steps: megakernel vs graph path ||d||/||ref|| over all %d "
            + "rows %.2e; worst row %.2e (%s)", model.getFileName(), batch, steps, twin.compared, twin.overall(),
            twin.worst, twin.worstRow);
        System.out.println(summary);
        assertTrue(twin.overall() < TOLERANCE, summary);
      }
    }
  }

  /** Runs steps on both backends with their own slots; the decode inputs follow the graph path's argmax. */
  static final class Twin {
    final CudaBackend graph;
    final MegakernelBackend mk;
    final List<Integer> graphSlots = new ArrayList<>();
    final List<Integer> mkSlots = new ArrayList<>();
    int compared;
    double worst;
    String worstRow = "none";
    double diffSquares;
    double refSquares;

    Twin(CudaBackend graph, MegakernelBackend mk) {
      this.graph = graph;
      this.mk = mk;
    }

    /** A sequence id valid on both backends. */
    int acquire(int tokens) {
      int g = graph.kvCache().acquireSlot();
      int m = mk.kvCache().acquireSlot();
      assertTrue(g >= 0 && m >= 0, "free slots");
      assertTrue(graph.kvCache().ensureCapacity(g, tokens) && mk.kvCache().ensureCapacity(m, tokens));
      graphSlots.add(g);
      mkSlots.add(m);
      return graphSlots.size() - 1;
    }

    void release() {
      graphSlots.forEach(graph.kvCache()::releaseSlot);
      mkSlots.forEach(mk.kvCache()::releaseSlot);
    }

    ForwardBatch onGraph(List<Chunk> chunks) {
      return on(chunks, graphSlots);
    }

    ForwardBatch onMegakernel(List<Chunk> chunks) {
      return on(chunks, mkSlots);
    }

    private static ForwardBatch on(List<Chunk> chunks, List<Integer> slots) {
      List<Chunk> mapped = new ArrayList<>();
      for (Chunk c : chunks) {
        mapped.add(new Chunk(slots.get(c.slot()), c.startPosition(), c.tokens(), c.wantLogits()));
      }
      return new ForwardBatch(mapped);
    }

    /** ||d||/||ref|| over every row compared so far. */
    double overall() {
      return Math.sqrt(diffSquares / refSquares);
    }

    /** Compares every row's logits; returns the reference's argmax per row. */
    int[] step(List<Chunk> chunks) {
      float[][] expected = graph.forward(onGraph(chunks));
      float[][] actual = mk.forward(onMegakernel(chunks));
      assertEquals(expected.length, actual.length);
      int[] next = new int[expected.length];
      for (int r = 0; r < expected.length; r++) {
        double[] squares = squares(expected[r], actual[r]);
        double err = Math.sqrt(squares[0] / squares[1]);
        String row = "row " + r + " of " + chunks.size() + " at position " + chunks.get(r).startPosition();
        if (err > worst) {
          worst = err;
          worstRow = row;
        }
        diffSquares += squares[0];
        refSquares += squares[1];
        assertTrue(err < ROW_TOLERANCE, row + ": ||d||/||ref|| = " + err);
        next[r] = argmax(expected[r]);
        compared++;
      }
      return next;
    }
  }

  /** Median host time of greedy decode steps of {@code batch} sequences after a {@code context}-token prefill. */
  static double medianStepMicros(Backend backend, int batch, int context, int steps) {
    Random random = new Random(5);
    int vocab = backend.config().vocabSize();
    int[] slots = new int[batch];
    for (int b = 0; b < batch; b++) {
      slots[b] = backend.kvCache().acquireSlot();
      assertTrue(backend.kvCache().ensureCapacity(slots[b], context + steps + 20));
      backend.forwardAndSample(new ForwardBatch(List.of(new Chunk(slots[b], 0,
          random.ints(context, 0, vocab).toArray(), true))), greedy(1));
    }
    int[] next = random.ints(batch, 0, vocab).toArray();
    double[] micros = new double[steps];
    for (int s = 0; s < steps + 10; s++) {
      List<Chunk> chunks = new ArrayList<>();
      for (int b = 0; b < batch; b++) {
        chunks.add(new Chunk(slots[b], context + s, new int[] {next[b]}, true));
      }
      long start = System.nanoTime();
      next = backend.forwardAndSample(new ForwardBatch(chunks), greedy(batch));
      if (s >= 10) {
        micros[s - 10] = (System.nanoTime() - start) / 1e3;
      }
    }
    for (int slot : slots) {
      backend.kvCache().releaseSlot(slot);
    }
    Arrays.sort(micros);
    return micros[steps / 2];
  }

  static List<Sampling> greedy(int rows) {
    List<Sampling> out = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      out.add(Sampling.greedy());
    }
    return out;
  }

  static ForwardBatch decode(int slot, int position, int token) {
    return new ForwardBatch(List.of(new Chunk(slot, position, new int[] {token}, true)));
  }
}
