package org.sparkllm.spark.exec;

import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.vectorized.ArrowColumnVector;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.sparkllm.spark.ReturnMode;

/**
 * The results of one batch of rows as Arrow vectors (one column per call, STRING or the result
 * struct), read back as Spark rows through ArrowColumnVector. A null outcome (null prompt) is a null
 * value.
 */
final class ResultBatch implements AutoCloseable {
  private final VectorSchemaRoot root;
  private final ColumnarBatch batch;

  private ResultBatch(VectorSchemaRoot root) {
    this.root = root;
    ColumnVector[] columns = new ColumnVector[root.getFieldVectors().size()];
    for (int i = 0; i < columns.length; i++) {
      columns[i] = new ArrowColumnVector(root.getVector(i));
    }
    this.batch = new ColumnarBatch(columns, root.getRowCount());
  }

  /** {@code outcomes.get(call)[row]}; a null entry is a null result. */
  static ResultBatch of(List<ReturnMode> modes, List<RowOutcome[]> outcomes, int rows, BufferAllocator allocator) {
    List<Field> fields = new ArrayList<>();
    for (int c = 0; c < modes.size(); c++) {
      fields.add(OutcomeVectors.field("result_" + c, modes.get(c)));
    }
    VectorSchemaRoot root = VectorSchemaRoot.create(new Schema(fields), allocator);
    try {
      root.allocateNew();
      for (int c = 0; c < modes.size(); c++) {
        RowOutcome[] column = outcomes.get(c);
        for (int r = 0; r < rows; r++) {
          OutcomeVectors.write(root.getVector(c), modes.get(c), r, column[r]);
        }
      }
      root.setRowCount(rows);
      return new ResultBatch(root);
    } catch (RuntimeException e) {
      root.close();
      throw e;
    }
  }

  /** Row {@code i}, valid until this batch is closed. */
  InternalRow row(int i) {
    return batch.getRow(i);
  }

  @Override
  public void close() {
    root.close();
  }
}
