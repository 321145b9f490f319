package org.sparkllm.spark.runtime;

import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Run by {@link RuntimeJarTest} in a fresh JVM whose class path is Spark's jars plus the runtime jar
 * only: the data source and llm_generate must be found through the jar's service files, and the
 * tokenizer's native library must load from it. Prints "SMOKE OK" and the rows.
 *
 * <p>Arguments: model directory, prompt file.
 */
public final class RuntimeJarSmoke {
  private RuntimeJarSmoke() {}

  public static void main(String[] args) {
    SparkSession spark =
        SparkSession.builder()
            .master("local[1]")
            .appName("spark-llm-runtime-jar-smoke")
            .config("spark.ui.enabled", "false")
            .config("spark.llm.engine.threads", "1")
            .config("spark.llm.model", args[0])
            .getOrCreate();
    try {
      spark.read()
          .format("llm")
          .option("max_tokens", "4")
          .load(args[1])
          .createOrReplaceTempView("answers");
      List<Row> rows =
          spark.sql("SELECT prompt, completion, llm_generate(prompt, named_struct('max_tokens', 4, 'chat', true)) AS chat "
                  + "FROM answers")
              .collectAsList();
      if (rows.isEmpty() || rows.stream().anyMatch(r -> r.isNullAt(1) || r.isNullAt(2))) {
        throw new IllegalStateException("missing completions: " + rows);
      }
      System.out.println("SMOKE OK " + rows);
    } finally {
      spark.stop();
    }
  }
}
