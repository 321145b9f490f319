package org.sparkllm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkllm.backend.LogitsComparison.argmax;
import static org.sparkllm.backend.LogitsComparison.relativeError;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
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
import org.sparkllm.backend.cpu.Bf16Rounding;
import org.sparkllm.backend.cpu.CpuBackend;
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
 * The CUDA backend against the CPU reference on the tiny checkpoints: the same steps (prefill in one
 * chunk and in several, single-token prompts, decode batches that replay CUDA graphs, prefill mixed
 * with decode) must give the same logits within bf16 error, with and without graphs. "bf16 error" is
 * measured, not guessed: a second CPU backend rounds the activations where the CUDA kernels do
 * ({@link Bf16Rounding}), and the GPU's mean error must not exceed that model's by more than chance
 * allows, so a kernel bug hiding under the per-row bar still shows.
 */
@Tag("gpu")
class CudaBackendGpuTest {
  /**
   * Issue 5's bar, ||d||/||ref|| over all compared logits (as the transformers parity is measured over its 64
   * positions). Not per row: the bf16 model above puts single rows at 1.1-1.65e-2 by the format's rounding alone
   * (docs/testing.md, "Error budget"), so a per-row 1e-2 would fail any bf16 implementation.
   */
  static final double TOLERANCE = 1e-2;
  /** Per-row sanity bound: about twice the bf16 model's worst row. */
  static final double ROW_TOLERANCE = 3e-2;
  /** layers.cuh, attention.cuh and gemm.cuh round every one of these activations to bf16. */
  static final EnumSet<Bf16Rounding> CUDA_ROUNDINGS = EnumSet.allOf(Bf16Rounding.class);
  /**
   * The model's mean error over these steps moves by about 6% between rounding realisations (a one-ulp
   * change re-randomises every later rounding), so the GPU, another realisation, stays within 1.25x.
   */
  static final double MODEL_RATIO = 1.25;

  @BeforeEach
  void requireGpu() {
    GpuTests.assumeCudaDevice();
  }

  @ParameterizedTest
  @EnumSource(names = {"TINY", "TINY_LLAMA3ROPE"})
  void logitsMatchTheCpuBackendWithGraphs(ModelShape shape) {
    compareWithCpu(shape, true);
  }

  @Test
  void logitsMatchTheCpuBackendWithoutGraphs() {
    compareWithCpu(ModelShape.TINY, false);
  }

  private static void compareWithCpu(ModelShape shape, boolean graphs) {
    Path model = TestModels.of(shape);
    LlamaConfig config = LlamaConfig.read(model);
    try (ModelTensors tensors = ModelTensors.open(model);
        CpuBackend cpu = CpuBackend.load(config, tensors, 8, 4096, 16, 2);
        CpuBackend bf16Model = CpuBackend.load(config, tensors, 8, 4096, 16, 2, CUDA_ROUNDINGS);
        CudaBackend gpu = CudaBackend.load(config, tensors, new CudaBackendOptions(0, 8, 512, 1024, 0.5, graphs))) {
      Twin twin = new Twin(cpu, bf16Model, gpu);
      Random random = new Random(11);
      int vocab = config.vocabSize();
      int a = twin.acquire(400);
      int b = twin.acquire(400);
      int c = twin.acquire(400);
      // a: one 40-token chunk; b: 100 tokens as 64 + 36 (the second chunk reads the first from the cache).
      twin.step(List.of(new Chunk(a, 0, random.ints(40, 0, vocab).toArray(), true),
          new Chunk(b, 0, random.ints(64, 0, vocab).toArray(), false)));
      int[] next = twin.step(List.of(new Chunk(b, 64, random.ints(36, 0, vocab).toArray(), true),
          new Chunk(c, 0, new int[] {random.nextInt(vocab)}, true)));
      int[] positions = {40, 100, 1};
      int[] slots = {a, b, c};
      int[] tokens = {random.nextInt(vocab), next[0], next[1]};
      // Decode all three for 30 steps (graph bucket 4 holds 3 rows); every 10 steps one sequence runs alone
      // (bucket 1), and once a new prompt joins the decode batch (eager, mixed).
      for (int step = 0; step < 30; step++) {
        List<Chunk> chunks = new ArrayList<>();
        int rows = step % 10 == 9 ? 1 : 3;
        for (int i = 0; i < rows; i++) {
          chunks.add(new Chunk(slots[i], positions[i], new int[] {tokens[i]}, true));
        }
        int d = -1;
        if (step == 15) {
          d = twin.acquire(400);
          chunks.add(new Chunk(d, 0, random.ints(23, 0, vocab).toArray(), true));
        }
        int[] out = twin.step(chunks);
        for (int i = 0; i < rows; i++) {
          positions[i]++;
          tokens[i] = out[i];
        }
      }
      assertEquals(88, twin.compared, "logit rows compared");
      double overall = Math.sqrt(twin.gpuDiffSquares / twin.refSquares);
      String summary = String.format("%s, graphs %s: GPU ||d||/||ref|| over all rows %.2e; per row: first %.2e, mean "
          + "%.2e, worst %.2e (%s); bf16 model over all rows %.2e, per row first %.2e, mean %.2e, worst %.2e", shape,
          graphs, overall, twin.gpuFirst, twin.gpuSum / twin.compared, twin.gpuWorst, twin.gpuWorstRow,
          Math.sqrt(twin.modelDiffSquares / twin.refSquares), twin.modelFirst, twin.modelSum / twin.compared,
          twin.modelWorst);
      System.out.println(summary);
      assertTrue(twin.gpuSum < MODEL_RATIO * twin.modelSum, "the GPU's error exceeds its bf16 model's: " + summary);
      assertTrue(overall < TOLERANCE, summary);
      assertTrue(twin.gpuWorst < ROW_TOLERANCE, summary);
    }
  }

  @Test
  void rejectsBadInputNamingTheValue() {
    Path model = TestModels.tiny();
    LlamaConfig config = LlamaConfig.read(model);
    try (ModelTensors tensors = ModelTensors.open(model);
        CudaBackend gpu = CudaBackend.load(config, tensors, new CudaBackendOptions(0, 2, 64, 128, 0.5, true))) {
      int slot = gpu.kvCache().acquireSlot();
      gpu.kvCache().ensureCapacity(slot, 128);
      IllegalArgumentException vocab = assertThrows(IllegalArgumentException.class,
          () -> gpu.forward(new ForwardBatch(List.of(new Chunk(slot, 0, new int[] {config.vocabSize()}, true)))));
      assertTrue(vocab.getMessage().contains(String.valueOf(config.vocabSize())), vocab.getMessage());
      IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class,
          () -> gpu.forward(new ForwardBatch(List.of(new Chunk(slot, 0, new int[65], true)))));
      assertTrue(tooMany.getMessage().contains("maxBatchTokens"), tooMany.getMessage());
      IllegalArgumentException context = assertThrows(IllegalArgumentException.class,
          () -> gpu.forward(new ForwardBatch(List.of(new Chunk(slot, 128, new int[] {1}, true)))));
      assertTrue(context.getMessage().contains("context limit"), context.getMessage());
    }
  }

  @Test
  void engineOnCudaIsDeterministicWithASeedAndRunsManyRequests() throws Exception {
    Path model = TestModels.tiny();
    EngineOptions options = EngineOptions.defaults().withMaxSequences(16).withMaxContextTokens(256);
    List<GenerationResult> first = generate(model, options, 40, 7);
    List<GenerationResult> second = generate(model, options, 40, 7);
    List<GenerationResult> otherSeed = generate(model, options, 40, 8);
    int differ = 0;
    for (int i = 0; i < first.size(); i++) {
      assertEquals(24, first.get(i).completionTokens());
      assertArrayEquals(first.get(i).completionTokenIds(), second.get(i).completionTokenIds(), "request " + i);
      if (!java.util.Arrays.equals(first.get(i).completionTokenIds(), otherSeed.get(i).completionTokenIds())) {
        differ++;
      }
    }
    assertNotEquals(0, differ, "another seed changes the samples");
  }

  private static List<GenerationResult> generate(Path model, EngineOptions options, int requests, long seed)
      throws Exception {
    try (Engine engine = Engine.open(model, options, "cuda:0")) {
      assertEquals("cuda", engine.backend().name());
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (int i = 0; i < requests; i++) {
        futures.add(engine.submit(GenerationRequest.prompt("request number " + i + " says")
            .withMaxTokens(24).withIgnoreEos(true)
            .withSampling(new SamplingParams(0.9, 40, 0.95, 0.0, seed + i))));
      }
      List<GenerationResult> results = new ArrayList<>();
      for (CompletableFuture<GenerationResult> f : futures) {
        results.add(f.get());
      }
      return results;
    }
  }

  /**
   * Runs every step on the CPU reference, the CPU bf16 model and the GPU with the same slots; decode
   * inputs follow the reference's argmax. Sums the error of each row against the reference.
   */
  private static final class Twin {
    final Backend cpu;
    final Backend model;
    final Backend gpu;
    int compared;
    double gpuFirst;
    double modelFirst;
    double gpuSum;
    double modelSum;
    double gpuDiffSquares;
    double modelDiffSquares;
    double refSquares;
    double gpuWorst;
    double modelWorst;
    String gpuWorstRow = "";
    int steps;

    Twin(Backend cpu, Backend model, Backend gpu) {
      this.cpu = cpu;
      this.model = model;
      this.gpu = gpu;
    }

    final List<Integer> cpuSlots = new ArrayList<>();
    final List<Integer> modelSlots = new ArrayList<>();
    final List<Integer> gpuSlots = new ArrayList<>();

    /** A sequence id valid on all backends (each cache picks its own slot for it). */
    int acquire(int tokens) {
      for (Backend backend : List.of(cpu, model, gpu)) {
        int s = backend.kvCache().acquireSlot();
        assertTrue(s >= 0, "free slots");
        assertTrue(backend.kvCache().ensureCapacity(s, tokens));
        (backend == cpu ? cpuSlots : backend == model ? modelSlots : gpuSlots).add(s);
      }
      return cpuSlots.size() - 1;
    }

    static ForwardBatch on(List<Chunk> chunks, List<Integer> slots) {
      List<Chunk> mapped = new ArrayList<>();
      for (Chunk c : chunks) {
        mapped.add(new Chunk(slots.get(c.slot()), c.startPosition(), c.tokens(), c.wantLogits()));
      }
      return new ForwardBatch(mapped);
    }

    /** Returns the reference's argmax of each row with logits. */
    int[] step(List<Chunk> chunks) {
      float[][] expected = cpu.forward(on(chunks, cpuSlots));
      float[][] modelled = model.forward(on(chunks, modelSlots));
      float[][] actual = gpu.forward(on(chunks, gpuSlots));
      assertEquals(expected.length, actual.length);
      int[] argmax = new int[expected.length];
      for (int r = 0; r < expected.length; r++) {
        double err = relativeError(expected[r], actual[r]);
        double modelErr = relativeError(expected[r], modelled[r]);
        if (compared == 0) {
          gpuFirst = err;
          modelFirst = modelErr;
        }
        gpuSum += err;
        modelSum += modelErr;
        gpuDiffSquares += squaredDistance(expected[r], actual[r]);
        modelDiffSquares += squaredDistance(expected[r], modelled[r]);
        refSquares += squaredDistance(expected[r], new float[expected[r].length]);
        modelWorst = Math.max(modelWorst, modelErr);
        if (err > gpuWorst) {
          gpuWorst = err;
          gpuWorstRow = "row " + r + " of step " + steps + ", " + chunks.size() + " chunks";
        }
        argmax[r] = argmax(expected[r]);
        compared++;
      }
      steps++;
      return argmax;
    }
  }

  static double squaredDistance(float[] a, float[] b) {
    double sum = 0;
    for (int i = 0; i < a.length; i++) {
      double d = (double) a[i] - b[i];
      sum += d * d;
    }
    return sum;
  }
}
