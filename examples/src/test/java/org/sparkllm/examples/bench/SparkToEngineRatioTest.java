package org.sparkllm.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.sparkllm.checkpoint.CheckpointWriter;
import org.sparkllm.checkpoint.ModelShape;

class SparkToEngineRatioTest {
  @Test
  void bothSidesDoTheSameWorkOnTheCpuBackend() throws Exception {
    Path model = CheckpointWriter.ensure(ModelShape.TINY, Path.of("target/test-models"));
    Path out = Path.of("target/spark-to-engine-test.json");
    SparkToEngineRatio.main(new String[] {
        "--model", model.toString(), "--backend", "cpu", "--prompts", "12", "--prompt-words", "20",
        "--max-tokens", "4", "--warmup-tokens", "2", "--repeats", "1", "--master", "local[2]",
        "--partitions", "2", "--out", out.toString()});

    JsonNode report = new ObjectMapper().readTree(out.toFile());
    for (String side : List.of("engine", "spark")) {
      assertEquals(12, report.path(side).path("rows").asLong(), side);
      assertEquals(48, report.path(side).path("output_tokens").asLong(), side);
    }
    assertEquals(report.path("engine").path("prompt_tokens"), report.path("spark").path("prompt_tokens"));
    assertTrue(report.path("spark_to_engine_ratio").asDouble() > 0);
  }

  @Test
  void differentTotalsAreReported() {
    Workload workload = new Workload(Path.of("m"), List.of("a", "b"), 4, 1, Map.of());
    Pass engine = new Pass(2, 10, 8, 1.0);
    assertNull(SparkToEngineRatio.differentWork(workload, engine, new Pass(2, 10, 8, 2.0)));
    assertNotNull(SparkToEngineRatio.differentWork(workload, engine, new Pass(2, 10, 7, 2.0)));
    assertNotNull(SparkToEngineRatio.differentWork(workload, new Pass(2, 10, 6, 1.0), new Pass(2, 10, 6, 1.0)));
  }

  @Test
  void promptsAreDeterministicAndDistinct() {
    List<String> prompts = BenchmarkPrompts.generate(200, 30, 5);
    assertEquals(prompts, BenchmarkPrompts.generate(200, 30, 5));
    assertEquals(200, new HashSet<>(prompts).size());
    assertNotEquals(prompts, BenchmarkPrompts.generate(200, 30, 6));
  }
}
