package org.sparkllm.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LlamaWeightLayoutTest {
  /** Parameter counts of the published models (DESIGN §3 for 1B; the HF model cards for the rest). */
  @ParameterizedTest
  @CsvSource({
    "llama-3.2-1b, 1235814400",
    "llama-3.2-3b, 3212749824",
    "llama-3.1-8b, 8030261248",
  })
  void realShapesHaveThePublishedParameterCounts(String shape, long parameters) {
    List<PlannedTensor> tensors = tensors(ModelShape.fromCliName(shape));

    assertEquals(parameters, tensors.stream().mapToLong(PlannedTensor::elementCount).sum());
  }

  @Test
  void tiedShapesHaveNoLmHeadAndUntiedOnesDo() {
    assertFalse(names(ModelShape.TINY).contains("lm_head.weight"));
    assertTrue(names(ModelShape.TINY_LLAMA3ROPE).contains("lm_head.weight"));
    assertFalse(names(ModelShape.LLAMA_3_2_1B).contains("lm_head.weight"));
    assertTrue(names(ModelShape.LLAMA_3_1_8B).contains("lm_head.weight"));
  }

  @Test
  void tinyProjectionsAreOutByInWithScaledStd() {
    List<PlannedTensor> tensors = tensors(ModelShape.TINY);
    PlannedTensor k = find(tensors, "model.layers.3.self_attn.k_proj.weight");
    PlannedTensor down = find(tensors, "model.layers.0.mlp.down_proj.weight");

    assertArrayEquals(new long[] {64, 128}, k.shape());
    assertEquals(1 / Math.sqrt(128), k.std());
    assertArrayEquals(new long[] {128, 384}, down.shape());
    assertEquals(1 / Math.sqrt(384), down.std());
    assertEquals(0.15, find(tensors, "model.embed_tokens.weight").std());
    assertEquals(1.0, find(tensors, "model.norm.weight").mean());
    assertEquals(2 + 9 * 4, tensors.size());
  }

  @Test
  void realShapesUseTheHuggingFaceInitializer() {
    PlannedTensor q = find(tensors(ModelShape.LLAMA_3_2_1B), "model.layers.15.self_attn.q_proj.weight");

    assertArrayEquals(new long[] {2048, 2048}, q.shape());
    assertEquals(0.02, q.std());
  }

  @Test
  void unknownShapeNamesListTheKnownOnes() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ModelShape.fromCliName("llama-70b"));

    assertEquals(
        "unknown shape \"llama-70b\"; known: tiny, tiny-llama3rope, llama-3.2-1b, odd-3l-1536, llama-3.2-3b, llama-3.1-8b",
        e.getMessage());
  }

  private static List<PlannedTensor> tensors(ModelShape shape) {
    return LlamaWeightLayout.tensors(shape.config(1, new int[] {2}), shape.isTiny());
  }

  private static List<String> names(ModelShape shape) {
    return tensors(shape).stream().map(PlannedTensor::name).toList();
  }

  private static PlannedTensor find(List<PlannedTensor> tensors, String name) {
    return tensors.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
  }
}
