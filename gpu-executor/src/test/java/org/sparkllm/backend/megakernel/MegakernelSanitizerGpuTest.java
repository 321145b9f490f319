package org.sparkllm.backend.megakernel;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.sparkllm.TestModels;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.ForwardBatch.Chunk;
import org.sparkllm.backend.LogitsComparison;
import org.sparkllm.cuda.GpuTests;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.safetensors.ModelTensors;

/**
 * A few megakernel steps on the tiny shape in a bucket of each kind (CUDA cores at 1 and 8 rows, tensor cores
 * at 16, with staged attention at 32, wgmma at 40 (the 64-row bucket) and the wide wgmma at 100 and 150 (the
 * 128- and 256-row buckets)), small enough to run under compute-sanitizer (memcheck, racecheck),
 * which slows kernels by orders of magnitude: the watchdog gets minutes instead of a second, so a slow but
 * correct step is not reported as lost. scripts/gpu-sanitizer.sh runs it under each tool.
 */
@Tag("gpu")
class MegakernelSanitizerGpuTest {
  private static final double SANITIZER_WATCHDOG_MILLIS = 300_000;

  @BeforeEach
  void requireGpu() {
    GpuTests.assumeCudaDevice();
  }

  @Test
  void fewStepsAtBatch1And8And16And32And40And100And150() {
    Path model = TestModels.tiny();
    LlamaConfig config = LlamaConfig.read(model);
    try (ModelTensors tensors = ModelTensors.open(model);
        MegakernelBackend mk = MegakernelBackend.load(config, tensors, MegakernelBackendGpuTest.options(64, 150),
            MegakernelOptions.defaults().withWatchdogMillis(SANITIZER_WATCHDOG_MILLIS).withMaxRows(256))) {
      for (int rows : new int[] {1, 8, 16, 32, 40, 100, 150}) {
        List<Integer> slots = new ArrayList<>();
        List<Chunk> prompts = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
          int slot = mk.kvCache().acquireSlot();
          assertTrue(slot >= 0 && mk.kvCache().ensureCapacity(slot, 16), "a slot of 16 tokens");
          slots.add(slot);
          prompts.add(new Chunk(slot, 0, new int[] {3 + r, 5, 7}, true));
        }
        mk.forward(new ForwardBatch(prompts));
        for (int position = 3; position < 6; position++) {
          List<Chunk> step = new ArrayList<>();
          for (int r = 0; r < rows; r++) {
            step.add(new Chunk(slots.get(r), position, new int[] {11 + r}, true));
          }
          ForwardBatch batch = new ForwardBatch(step);
          assertTrue(mk.runsOnMegakernel(batch), "a decode step of " + rows + " rows");
          float[][] megakernel = mk.forward(batch);
          float[][] graph = mk.cuda().forward(batch);
          for (int r = 0; r < rows; r++) {
            double err = LogitsComparison.relativeError(graph[r], megakernel[r]);
            assertTrue(err < 3e-2, "row " + r + " of " + rows + " at position " + position + ": " + err);
          }
        }
        slots.forEach(mk.kvCache()::releaseSlot);
      }
    }
  }
}
