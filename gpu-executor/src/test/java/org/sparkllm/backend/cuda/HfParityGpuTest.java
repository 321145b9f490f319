package org.sparkllm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.ForwardBatch.Chunk;
import org.sparkllm.backend.Sampling;
import org.sparkllm.cuda.GpuTests;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.safetensors.ModelTensors;

/**
 * The CUDA backend against Hugging Face transformers (float32 on the GPU) on a Llama-3.2-1B-shaped
 * random checkpoint, from reference data written on the GPU host by scripts/hf_logits_reference.py:
 * teacher-forced logits over 64 positions through both the decode (graph) and the prefill path, and
 * 64 greedy tokens on a copy whose embedding and layer 0 MLP encode a next-token rule, so that
 * predictions are confident (scripts/confident_checkpoint.py). Runs where SPARKLLM_HF_REFERENCE
 * (logits) and SPARKLLM_HF_GREEDY_REFERENCE (greedy) name those directories.
 */
@Tag("gpu")
class HfParityGpuTest {
  static final double TOLERANCE = 2e-2;

  @BeforeEach
  void requireGpu() {
    GpuTests.assumeCudaDevice();
  }

  @Test
  void teacherForcedLogitsMatchTransformers() throws IOException {
    Path dir = referenceDir("SPARKLLM_HF_REFERENCE");
    JsonNode ref = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
    int[] tokens = ints(ref.get("tokens"));
    int positions = ref.get("positions").asInt();
    int vocab = ref.get("vocab").asInt();
    float[][] expected = readLogits(dir.resolve("logits.f32"), positions, vocab);
    Path model = Path.of(ref.get("model").asText());
    LlamaConfig config = LlamaConfig.read(model);
    try (ModelTensors tensors = ModelTensors.open(model);
        CudaBackend gpu = CudaBackend.load(config, tensors, new CudaBackendOptions(0, 2, 128, 256, 0.5, true))) {
      int slot = gpu.kvCache().acquireSlot();
      assertTrue(gpu.kvCache().ensureCapacity(slot, positions));
      float[][] decoded = new float[positions][];
      for (int p = 0; p < positions; p++) {
        decoded[p] = gpu.forward(one(slot, p, new int[] {tokens[p]}))[0];
      }
      float[][] prefilled = new float[positions][];
      for (int p = 0; p < positions; p++) {
        prefilled[p] = gpu.forward(one(slot, 0, Arrays.copyOf(tokens, p + 1)))[0];
      }
      double decodeError = relativeError(expected, decoded);
      double prefillError = relativeError(expected, prefilled);
      System.out.printf("HF parity over %d positions: decode ||d||/||ref|| = %.2e, prefill = %.2e%n", positions,
          decodeError, prefillError);
      assertTrue(decodeError < TOLERANCE, "decode path ||d||/||ref|| = " + decodeError);
      assertTrue(prefillError < TOLERANCE, "prefill path ||d||/||ref|| = " + prefillError);
    }
  }

  @Test
  void greedyTokensMatchTransformersOnAConfidentCheckpoint() throws IOException {
    Path dir = referenceDir("SPARKLLM_HF_GREEDY_REFERENCE");
    JsonNode ref = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
    int[] prompt = ints(ref.get("greedy_prompt"));
    int[] expected = ints(ref.get("greedy_tokens"));
    Path model = Path.of(ref.get("model").asText());
    LlamaConfig config = LlamaConfig.read(model);
    try (ModelTensors tensors = ModelTensors.open(model);
        CudaBackend gpu = CudaBackend.load(config, tensors, new CudaBackendOptions(0, 2, 128, 256, 0.5, true))) {
      int slot = gpu.kvCache().acquireSlot();
      assertTrue(gpu.kvCache().ensureCapacity(slot, prompt.length + expected.length));
      int[] actual = new int[expected.length];
      actual[0] = gpu.forwardAndSample(one(slot, 0, prompt), List.of(Sampling.greedy()))[0];
      for (int i = 1; i < expected.length; i++) {
        actual[i] = gpu.forwardAndSample(one(slot, prompt.length + i - 1, new int[] {actual[i - 1]}),
            List.of(Sampling.greedy()))[0];
      }
      System.out.println("greedy tokens: " + Arrays.toString(actual));
      assertArrayEquals(expected, actual, "64 greedy tokens equal transformers'");
    }
  }

  private static Path referenceDir(String variable) {
    String value = System.getenv(variable);
    Assumptions.assumeTrue(value != null && !value.isBlank(), variable + " is not set");
    return Path.of(value);
  }

  private static ForwardBatch one(int slot, int start, int[] tokens) {
    return new ForwardBatch(List.of(new Chunk(slot, start, tokens, true)));
  }

  private static int[] ints(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asInt();
    }
    return out;
  }

  private static float[][] readLogits(Path file, int rows, int vocab) throws IOException {
    ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(4L * rows * vocab, bytes.capacity(), file + " size");
    float[][] out = new float[rows][vocab];
    for (float[] row : out) {
      bytes.asFloatBuffer().get(row);
      bytes.position(bytes.position() + 4 * vocab);
    }
    return out;
  }

  private static double relativeError(float[][] expected, float[][] actual) {
    double diff = 0;
    double ref = 0;
    for (int r = 0; r < expected.length; r++) {
      for (int i = 0; i < expected[r].length; i++) {
        double d = (double) actual[r][i] - expected[r][i];
        diff += d * d;
        ref += (double) expected[r][i] * expected[r][i];
      }
    }
    return Math.sqrt(diff / ref);
  }
}
