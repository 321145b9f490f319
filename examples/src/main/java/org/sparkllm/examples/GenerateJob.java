package org.sparkllm.examples;

import static org.apache.spark.sql.functions.call_function;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.map;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.sparkllm.checkpoint.CheckpointWriter;
import org.sparkllm.checkpoint.ModelShape;

/**
 * Completes a few multilingual prompts with {@code llm_generate} and prints them with a throughput
 * line. Runs under spark-submit (the master comes from it) or on its own on {@code local[2]}.
 *
 * <pre>
 * GenerateJob [--model DIR] [--max-tokens N]
 * </pre>
 *
 * Without {@code --model} it writes the tiny random-weight model under {@code models/} (so the
 * completions are gibberish by design). On a real cluster, pass a model directory every executor
 * can read.
 */
public final class GenerateJob {
  private static final int PARTITIONS = 4;

  private GenerateJob() {}

  public static void main(String[] args) {
    Path model = null;
    int maxTokens = 24;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--model" -> model = Path.of(args[++i]);
        case "--max-tokens" -> maxTokens = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException(
            "unknown argument " + args[i] + "; valid: --model DIR, --max-tokens N");
      }
    }
    if (model == null) {
      model = CheckpointWriter.ensure(ModelShape.TINY, Path.of("models"));
      System.out.println("model: tiny random-weight checkpoint at " + model);
    }

    SparkSession.Builder builder =
        SparkSession.builder()
            .appName("spark-llm GenerateJob")
            .config("spark.llm.model", model.toAbsolutePath().toString());
    // Under spark-submit the master and the UI are the submitter's choice; a local run needs no UI.
    if (!new SparkConf().contains("spark.master")) {
      builder.master("local[2]").config("spark.ui.enabled", "false");
    }
    SparkSession spark = builder.getOrCreate();
    try {
      run(spark, maxTokens);
    } finally {
      spark.stop();
    }
  }

  private static void run(SparkSession spark, int maxTokens) {
    Dataset<Row> prompts = promptTable(spark);
    Dataset<Row> completed =
        prompts.withColumn(
            "completion",
            call_function(
                "llm_generate",
                col("prompt"),
                map(
                    lit("max_tokens"), lit(Integer.toString(maxTokens)),
                    lit("temperature"), lit("0.7"),
                    lit("seed"), lit("42"),
                    lit("return"), lit("struct"))));
    long start = System.nanoTime();
    List<Row> rows =
        completed
            .select(
                col("id"),
                col("lang"),
                col("prompt"),
                col("completion.text"),
                col("completion.finish_reason"),
                col("completion.completion_tokens"),
                col("completion.error"))
            .orderBy("id")
            .collectAsList();
    double seconds = (System.nanoTime() - start) / 1e9;

    long generatedTokens = 0;
    for (Row r : rows) {
      System.out.printf(Locale.ROOT, "%n#%d [%s] > %s%n", r.getInt(0), r.getString(1), r.getString(2));
      if (!r.isNullAt(6)) {
        System.out.println("error: " + r.getString(6));
        continue;
      }
      System.out.printf(Locale.ROOT, "%s%n[%s, %d tokens]%n", r.getString(3), r.getString(4), r.getInt(5));
      generatedTokens += r.getInt(5);
    }
    System.out.printf(
        Locale.ROOT,
        "%n%d rows in %d partitions: %d generated tokens in %.2f s, %.1f tokens/s (includes model load)%n",
        rows.size(),
        PARTITIONS,
        generatedTokens,
        seconds,
        generatedTokens / seconds);
  }

  /** The prompts spread over a few partitions, so several tasks share each executor's engine. */
  private static Dataset<Row> promptTable(SparkSession spark) {
    List<Row> rows =
        IntStream.range(0, ExamplePrompts.ALL.size())
            .mapToObj(i -> RowFactory.create(i, ExamplePrompts.ALL.get(i).lang(), ExamplePrompts.ALL.get(i).text()))
            .toList();
    StructType schema =
        new StructType()
            .add("id", DataTypes.IntegerType, false)
            .add("lang", DataTypes.StringType, false)
            .add("prompt", DataTypes.StringType, false);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    return spark.createDataFrame(jsc.parallelize(rows, PARTITIONS), schema);
  }

}
