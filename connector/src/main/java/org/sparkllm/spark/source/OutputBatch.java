package org.sparkllm.spark.source;

import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.spark.sql.vectorized.ArrowColumnVector;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.sparkllm.spark.ReturnMode;
import org.sparkllm.spark.exec.OutcomeVectors;
import org.sparkllm.spark.exec.RowOutcome;

/**
 * One batch of the scan's output as Arrow vectors in {@link SourceSchema} order, handed to Spark as
 * a ColumnarBatch of ArrowColumnVectors. Valid until closed, which the reader does on its next batch.
 */
final class OutputBatch implements AutoCloseable {
  private final VectorSchemaRoot root;
  private final ColumnarBatch batch;

  private OutputBatch(VectorSchemaRoot root) {
    this.root = root;
    ColumnVector[] columns = new ColumnVector[root.getFieldVectors().size()];
    for (int i = 0; i < columns.length; i++) {
      columns[i] = new ArrowColumnVector(root.getVector(i));
    }
    this.batch = new ColumnarBatch(columns, root.getRowCount());
  }

  static OutputBatch of(
      SourceSchema schema, List<InputRecord> records, RowOutcome[] outcomes, BufferAllocator allocator) {
    List<Field> fields = new ArrayList<>();
    for (String name : schema.passThrough()) {
      fields.add(Field.nullable(name, ArrowType.Utf8.INSTANCE));
    }
    fields.add(Field.nullable(SourceSchema.PROMPT, ArrowType.Utf8.INSTANCE));
    fields.add(OutcomeVectors.field(SourceSchema.COMPLETION, schema.mode()));
    boolean errorColumn = schema.mode() == ReturnMode.TEXT;
    if (errorColumn) {
      fields.add(Field.nullable(SourceSchema.ERROR, ArrowType.Utf8.INSTANCE));
    }
    VectorSchemaRoot root = VectorSchemaRoot.create(new Schema(fields), allocator);
    try {
      root.allocateNew();
      int passCount = schema.passThrough().size();
      for (int r = 0; r < records.size(); r++) {
        InputRecord record = records.get(r);
        for (int f = 0; f < passCount; f++) {
          OutcomeVectors.setText((VarCharVector) root.getVector(f), r, record.fields()[f]);
        }
        OutcomeVectors.setText((VarCharVector) root.getVector(passCount), r, record.prompt());
        OutcomeVectors.write(root.getVector(passCount + 1), schema.mode(), r, outcomes[r]);
        if (errorColumn) {
          OutcomeVectors.setText((VarCharVector) root.getVector(passCount + 2), r, outcomes[r].error());
        }
      }
      root.setRowCount(records.size());
      return new OutputBatch(root);
    } catch (RuntimeException e) {
      root.close();
      throw e;
    }
  }

  ColumnarBatch batch() {
    return batch;
  }

  int rows() {
    return batch.numRows();
  }

  @Override
  public void close() {
    root.close();
  }
}
