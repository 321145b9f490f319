package org.sparkllm.it;

import java.util.List;
import java.util.stream.LongStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** Tables of (id BIGINT, prompt STRING) spread over a chosen number of partitions. */
final class PromptTables {
  static final StructType SCHEMA =
      new StructType().add("id", DataTypes.LongType, false).add("prompt", DataTypes.StringType, true);

  /** A few languages and scripts, so tokenization differs from row to row. */
  private static final List<String> STEMS =
      List.of(
          "Tell me about",
          "Erzähl mir etwas über",
          "Parle-moi de",
          "Háblame de",
          "请介绍一下",
          "について教えてください:",
          "Расскажи о",
          "🌍 Facts about");

  private PromptTables() {}

  /** The prompt of row {@code id}; the id is in the text, so each row's prompt is distinct. */
  static String prompt(long id) {
    return STEMS.get((int) (id % STEMS.size())) + " item " + id;
  }

  /** Rows 0 .. count-1 with {@link #prompt(long)}. */
  static Dataset<Row> numbered(SparkSession spark, int count, int partitions) {
    List<Row> rows = LongStream.range(0, count).mapToObj(id -> RowFactory.create(id, prompt(id))).toList();
    return of(spark, rows, partitions);
  }

  /**
   * Rows distributed by the RDD API rather than as a local relation, so every partition is a task
   * on an executor.
   */
  static Dataset<Row> of(SparkSession spark, List<Row> rows, int partitions) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    return spark.createDataFrame(jsc.parallelize(rows, partitions), SCHEMA);
  }
}
