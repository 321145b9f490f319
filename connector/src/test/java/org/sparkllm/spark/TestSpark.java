package org.sparkllm.spark;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.SparkPlan;
import org.sparkllm.checkpoint.CheckpointWriter;
import org.sparkllm.checkpoint.ModelShape;
import org.sparkllm.spark.exec.LlmGenerateExec;
import org.sparkllm.spark.util.ScalaSeqs;

/** The tiny random-weight model and a small local session for connector tests. */
public final class TestSpark {
  private TestSpark() {}

  public static Path tinyModel() {
    return CheckpointWriter.ensure(ModelShape.TINY, Path.of("target/test-models")).toAbsolutePath();
  }

  /** local[2] with llm_generate registered through META-INF/services; AQE off to read plans simply. */
  public static SparkSession session(Path model) {
    return SparkSession.builder()
        .master("local[2]")
        .appName("spark-llm-connector-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.plugins", LlmPlugin.class.getName())
        // Also found through META-INF/services; naming it here checks the explicit route too.
        .config("spark.sql.extensions", LlmExtensions.class.getName())
        .config("spark.llm.model", model.toString())
        .config("spark.llm.max_tokens", "8")
        .config("spark.llm.engine.threads", "1")
        .getOrCreate();
  }

  /** Every LlmGenerateExec in an executed plan. */
  static List<LlmGenerateExec> operators(SparkPlan plan) {
    List<LlmGenerateExec> found = new ArrayList<>();
    if (plan instanceof LlmGenerateExec exec) {
      found.add(exec);
    }
    for (SparkPlan child : ScalaSeqs.<SparkPlan>list(plan.children())) {
      found.addAll(operators(child));
    }
    return found;
  }
}
