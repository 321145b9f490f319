package org.sparkllm.spark.source;

import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.connector.metric.CustomMetric;
import org.apache.spark.sql.connector.read.Batch;
import org.apache.spark.sql.connector.read.InputPartition;
import org.apache.spark.sql.connector.read.PartitionReaderFactory;
import org.apache.spark.sql.connector.read.Scan;
import org.apache.spark.sql.types.StructType;

/** The scan of an llm table: one input partition per file split, read as Arrow columnar batches. */
final class LlmScan implements Scan, Batch {
  private final ScanSpec spec;
  private final List<FileSplit> splits;

  LlmScan(ScanSpec spec, List<FileSplit> splits) {
    this.spec = spec;
    this.splits = List.copyOf(splits);
  }

  @Override
  public StructType readSchema() {
    return spec.schema().structType();
  }

  @Override
  public String description() {
    return "LlmScan " + spec.format().name().toLowerCase(Locale.ROOT) + " " + spec.options().paths()
        + " model=" + spec.options().llm().model() + " splits=" + splits.size();
  }

  @Override
  public ColumnarSupportMode columnarSupportMode() {
    return ColumnarSupportMode.SUPPORTED;
  }

  @Override
  public Batch toBatch() {
    return this;
  }

  @Override
  public InputPartition[] planInputPartitions() {
    return splits.toArray(new InputPartition[0]);
  }

  @Override
  public PartitionReaderFactory createReaderFactory() {
    return new LlmReaderFactory(spec);
  }

  @Override
  public CustomMetric[] supportedCustomMetrics() {
    return LlmScanMetrics.all();
  }
}
