package org.sparkllm.spark.source;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.spark.deploy.SparkHadoopUtil;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.connector.read.InputPartition;
import org.apache.spark.sql.connector.read.PartitionReader;
import org.apache.spark.sql.connector.read.PartitionReaderFactory;
import org.apache.spark.sql.vectorized.ColumnarBatch;

/** Creates the columnar reader of each split on the executors. */
final class LlmReaderFactory implements PartitionReaderFactory {
  private static final long serialVersionUID = 1L;

  private final ScanSpec spec;

  LlmReaderFactory(ScanSpec spec) {
    this.spec = spec;
  }

  @Override
  public boolean supportColumnarReads(InputPartition partition) {
    return true;
  }

  @Override
  public PartitionReader<ColumnarBatch> createColumnarReader(InputPartition partition) {
    try {
      // The executor's Hadoop configuration, as llm_generate uses for models (spark.hadoop.* included).
      return new LlmPartitionReader((FileSplit) partition, spec, SparkHadoopUtil.get().conf());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open " + ((FileSplit) partition).path(), e);
    }
  }

  /** Never called: the scan only reads columnar (columnarSupportMode SUPPORTED). */
  @Override
  public PartitionReader<InternalRow> createReader(InputPartition partition) {
    throw new UnsupportedOperationException("the llm data source reads columnar batches only");
  }
}
