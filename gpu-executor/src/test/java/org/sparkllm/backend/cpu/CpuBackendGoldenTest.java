package org.sparkllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.sparkllm.TestModels;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.ForwardBatch.Chunk;
import org.sparkllm.checkpoint.ModelShape;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.safetensors.ModelTensors;

/**
 * The CPU backend against Hugging Face transformers' LlamaForCausalLM on the same checkpoint: golden
 * logits written by scripts/hf_reference.py (float32, on the CPU) for a 32-token prefill and 16 decode
 * steps. The checkpoint is regenerated here from its seed; its hash proves it is the same one.
 */
class CpuBackendGoldenTest {
  static final double TOLERANCE = 1e-4;

  @ParameterizedTest
  @EnumSource(names = {"TINY", "TINY_LLAMA3ROPE"})
  void logitsMatchTransformers(ModelShape shape) throws Exception {
    JsonNode golden = golden("hf-logits-" + shape.cliName() + ".json");
    Path model = TestModels.of(shape);
    assertEquals(
        golden.get("model_safetensors_sha256").asText(),
        sha256(model.resolve("model.safetensors")),
        "the checkpoint generator no longer writes the checkpoint the golden logits were made from: "
            + "regenerate them with scripts/hf_reference.py (see docs/testing.md)");

    LlamaConfig config = LlamaConfig.read(model);
    int prefill = golden.get("prefill_length").asInt();
    int[] ids = new int[golden.get("token_ids").size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = golden.get("token_ids").get(i).asInt();
    }
    List<float[]> expected = decodeRows(golden.get("logits_f32le_base64"));
    try (ModelTensors tensors = ModelTensors.open(model);
        CpuBackend backend = CpuBackend.load(config, tensors, 1, 128, 16, 2)) {
      int slot = backend.kvCache().acquireSlot();
      backend.kvCache().ensureCapacity(slot, ids.length);
      float[] actual =
          backend.forward(new ForwardBatch(List.of(new Chunk(slot, 0, Arrays.copyOf(ids, prefill), true))))[0];
      assertClose(expected.get(0), actual, "prefill of " + prefill);
      for (int step = 1; step < expected.size(); step++) {
        int position = prefill + step - 1;
        actual =
            backend.forward(
                new ForwardBatch(List.of(new Chunk(slot, position, new int[] {ids[position]}, true))))[0];
        assertClose(expected.get(step), actual, "decode step " + step);
      }
    }
  }

  private static void assertClose(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what);
    double diff = 0;
    double norm = 0;
    for (int i = 0; i < expected.length; i++) {
      diff += (expected[i] - actual[i]) * (double) (expected[i] - actual[i]);
      norm += expected[i] * (double) expected[i];
    }
    double relative = Math.sqrt(diff / norm);
    assertTrue(relative < TOLERANCE, what + ": |Δ|/|ref| = " + relative);
  }

  private static List<float[]> decodeRows(JsonNode rows) {
    return java.util.stream.StreamSupport.stream(rows.spliterator(), false)
        .map(
            row -> {
              ByteBuffer bytes =
                  ByteBuffer.wrap(Base64.getDecoder().decode(row.asText())).order(ByteOrder.LITTLE_ENDIAN);
              float[] values = new float[bytes.remaining() / 4];
              bytes.asFloatBuffer().get(values);
              return values;
            })
        .toList();
  }

  static JsonNode golden(String name) throws Exception {
    try (InputStream in = CpuBackendGoldenTest.class.getResourceAsStream("/golden/" + name)) {
      if (in == null) {
        throw new IllegalStateException("missing golden file /golden/" + name);
      }
      return new ObjectMapper().readTree(in);
    }
  }

  static String sha256(Path file) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }
}
