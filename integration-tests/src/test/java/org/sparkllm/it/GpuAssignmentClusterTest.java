package org.sparkllm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.sparkllm.spark.engine.EngineRegistry;

/** The GPU Spark assigns a task is the device its executor's engine is opened for. */
@Timeout(300)
class GpuAssignmentClusterTest {

  @Test
  void eachExecutorsEngineIsKeyedByTheGpuItsTasksHold() {
    SparkSession spark = TestCluster.session();
    PromptTables.numbered(spark, 64, 8).createOrReplaceTempView("prompts_gpu");
    assertEquals(64, spark.sql("SELECT llm_generate(prompt, map('max_tokens', 2)) FROM prompts_gpu").collectAsList().size());

    List<String> probes =
        spark
            .range(0, 16, 1, 16)
            .mapPartitions(
                (MapPartitionsFunction<Long, String>)
                    rows -> {
                      String gpu = TaskContext.get().resourcesJMap().get("gpu").addresses()[0];
                      Set<String> devices = EngineRegistry.get().openDevices();
                      return List.of(gpu + " " + String.join(",", devices)).iterator();
                    },
                Encoders.STRING())
            .collectAsList();

    int executorsWithEngines = 0;
    for (String probe : probes) {
      String[] gpuAndDevices = probe.split(" ", -1);
      if (gpuAndDevices[1].isEmpty()) {
        continue; // an executor that ran none of the llm_generate tasks
      }
      executorsWithEngines++;
      Set<String> devices = Set.of(gpuAndDevices[1].split(","));
      assertTrue(devices.contains("gpu:" + gpuAndDevices[0]), "engine devices vs task GPU: " + probe);
      assertFalse(devices.contains("cpu"), "no engine ignored the assigned GPU: " + probe);
    }
    assertTrue(executorsWithEngines > 0, "no executor had an engine: " + probes);
  }
}
