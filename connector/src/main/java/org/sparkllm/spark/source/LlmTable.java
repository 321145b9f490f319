package org.sparkllm.spark.source;

import java.util.List;
import java.util.Set;
import org.apache.spark.sql.connector.catalog.Column;
import org.apache.spark.sql.connector.catalog.SupportsRead;
import org.apache.spark.sql.connector.catalog.TableCapability;
import org.apache.spark.sql.connector.read.ScanBuilder;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;

/** Prompt files read through a model: a batch-readable table whose rows carry their completions. */
final class LlmTable implements SupportsRead {
  private final ScanSpec spec;
  private final List<FileSplit> splits;

  LlmTable(ScanSpec spec, List<FileSplit> splits) {
    this.spec = spec;
    this.splits = splits;
  }

  @Override
  public String name() {
    return "llm " + String.join(", ", spec.options().paths());
  }

  @Override
  public StructType schema() {
    return spec.schema().structType();
  }

  @Override
  public Column[] columns() {
    StructField[] fields = schema().fields();
    Column[] columns = new Column[fields.length];
    for (int i = 0; i < fields.length; i++) {
      columns[i] = Column.create(fields[i].name(), fields[i].dataType(), fields[i].nullable());
    }
    return columns;
  }

  @Override
  public Set<TableCapability> capabilities() {
    return Set.of(TableCapability.BATCH_READ);
  }

  /** The options were resolved when the table was loaded; the scan reads every column. */
  @Override
  public ScanBuilder newScanBuilder(CaseInsensitiveStringMap options) {
    return () -> new LlmScan(spec, splits);
  }
}
