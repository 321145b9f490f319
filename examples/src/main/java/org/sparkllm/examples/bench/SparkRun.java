package org.sparkllm.examples.bench;

import static org.apache.spark.sql.functions.call_function;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.length;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.map;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.sparkllm.spark.LlmPlugin;

/**
 * The workload as a Spark job on one local session: the prompts as a DataFrame in a few partitions,
 * llm_generate over them, and each row's token counts, error and text length collected to the
 * driver (one stage, no shuffle), so every completion goes through Spark's rows. A first job with
 * few output tokens loads the engine and warms it; each timed pass is one whole action, planning and
 * scheduling included.
 */
final class SparkRun {
  private SparkRun() {}

  static Throughput measure(Workload workload, String master, int partitions, int repeats) {
    SparkSession.Builder builder =
        SparkSession.builder()
            .master(master)
            .appName("spark-llm spark-to-engine")
            .config("spark.ui.enabled", "false")
            // Closes the engine when the session stops, freeing the GPU for whatever runs next.
            .config("spark.plugins", LlmPlugin.class.getName());
    workload.settings().forEach(builder::config);
    SparkSession spark = builder.getOrCreate();
    try {
      Dataset<Row> prompts = promptTable(spark, workload.prompts(), partitions);
      once(prompts, workload.warmupTokens());
      List<Pass> passes = new ArrayList<>();
      for (int i = 0; i < repeats; i++) {
        passes.add(once(prompts, workload.maxTokens()));
      }
      return new Throughput("spark", passes);
    } finally {
      spark.stop();
    }
  }

  private static Pass once(Dataset<Row> prompts, int maxTokens) {
    List<Column> options = new ArrayList<>();
    for (Map.Entry<String, String> o : Workload.callOptions(maxTokens).entrySet()) {
      options.add(lit(o.getKey()));
      options.add(lit(o.getValue()));
    }
    long start = System.nanoTime();
    List<Row> rows =
        prompts
            .select(call_function("llm_generate", col("prompt"), map(options.toArray(Column[]::new))).as("c"))
            .select(col("c.prompt_tokens"), col("c.completion_tokens"), col("c.error"), length(col("c.text")))
            .collectAsList();
    double seconds = (System.nanoTime() - start) / 1e9;
    long promptTokens = 0;
    long outputTokens = 0;
    for (Row r : rows) {
      if (!r.isNullAt(2)) {
        throw new IllegalStateException("a row came back with an error: " + r.getString(2));
      }
      promptTokens += r.getInt(0);
      outputTokens += r.getInt(1);
    }
    return new Pass(rows.size(), promptTokens, outputTokens, seconds);
  }

  private static Dataset<Row> promptTable(SparkSession spark, List<String> prompts, int partitions) {
    List<Row> rows = IntStream.range(0, prompts.size()).mapToObj(i -> RowFactory.create(i, prompts.get(i))).toList();
    StructType schema =
        new StructType().add("id", DataTypes.IntegerType, false).add("prompt", DataTypes.StringType, false);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    return spark.createDataFrame(jsc.parallelize(rows, partitions), schema);
  }
}
