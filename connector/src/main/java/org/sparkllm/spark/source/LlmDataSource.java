package org.sparkllm.spark.source;

import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.spark.sql.connector.catalog.Table;
import org.apache.spark.sql.connector.catalog.TableProvider;
import org.apache.spark.sql.connector.expressions.Transform;
import org.apache.spark.sql.internal.SQLConf;
import org.apache.spark.sql.sources.DataSourceRegister;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;
import org.sparkllm.spark.InvalidLlmOptionException;
import org.sparkllm.spark.engine.ModelLocator;

/**
 * {@code spark.read.format("llm").option("model", ...).load(path)}: prompts from JSON-lines or text
 * files, each returned with its completion. Everything is checked when the data frame is created:
 * options (by {@link SourceOptions} and LlmOptions), the model path, and the input paths.
 */
public final class LlmDataSource implements TableProvider, DataSourceRegister {
  @Override
  public String shortName() {
    return "llm";
  }

  @Override
  public StructType inferSchema(CaseInsensitiveStringMap options) {
    return table(options.asCaseSensitiveMap(), null).schema();
  }

  /** A user's {@code .schema(...)} is accepted; see {@link SourceSchema#fromGiven}. */
  @Override
  public boolean supportsExternalMetadata() {
    return true;
  }

  @Override
  public Table getTable(StructType schema, Transform[] partitioning, Map<String, String> properties) {
    return table(properties, schema);
  }

  /** @param given the inferred or user-given schema, or null to infer it */
  private static LlmTable table(Map<String, String> properties, StructType given) {
    try {
      SQLConf conf = SQLConf.get();
      SourceOptions options = SourceOptions.parse(properties, key -> conf.getConfString(key, null));
      Configuration hadoopConf = org.apache.spark.sql.classic.SparkSession.active().sessionState().newHadoopConf();
      ModelLocator.requireModel(options.llm().model(), hadoopConf);
      List<FileStatus> files = SplitPlanner.listFiles(options.paths(), hadoopConf);
      InputFormat format =
          InputFormat.of(options.format(), files.stream().map(f -> f.getPath().getName()).toList());
      SourceSchema schema =
          given != null
              ? SourceSchema.fromGiven(given, format, options.llm().returnMode())
              : SourceSchema.infer(format, options, files, hadoopConf);
      return new LlmTable(
          new ScanSpec(options, format, schema),
          SplitPlanner.splits(files, options.maxSplitBytes(), hadoopConf));
    } catch (InvalidLlmOptionException e) {
      throw new InvalidLlmOptionException("llm data source: " + e.getMessage());
    }
  }
}
