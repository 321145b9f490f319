package org.sparkllm.spark.exec;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.StructVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
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
      fields.add(field("result_" + c, modes.get(c)));
    }
    VectorSchemaRoot root = VectorSchemaRoot.create(new Schema(fields), allocator);
    try {
      root.allocateNew();
      for (int c = 0; c < modes.size(); c++) {
        FieldVector vector = root.getVector(c);
        RowOutcome[] column = outcomes.get(c);
        for (int r = 0; r < rows; r++) {
          if (modes.get(c) == ReturnMode.TEXT) {
            setText((VarCharVector) vector, r, column[r] == null || column[r].result() == null ? null : column[r].result().text());
          } else {
            setStruct((StructVector) vector, r, column[r]);
          }
        }
      }
      root.setRowCount(rows);
      return new ResultBatch(root);
    } catch (RuntimeException e) {
      root.close();
      throw e;
    }
  }

  private static Field field(String name, ReturnMode mode) {
    if (mode == ReturnMode.TEXT) {
      return Field.nullable(name, ArrowType.Utf8.INSTANCE);
    }
    ArrowType int32 = new ArrowType.Int(32, true);
    return new Field(
        name,
        FieldType.nullable(ArrowType.Struct.INSTANCE),
        List.of(
            Field.nullable("text", ArrowType.Utf8.INSTANCE),
            Field.nullable("finish_reason", ArrowType.Utf8.INSTANCE),
            Field.nullable("prompt_tokens", int32),
            Field.nullable("completion_tokens", int32),
            Field.nullable("error", ArrowType.Utf8.INSTANCE)));
  }

  private static void setStruct(StructVector struct, int row, RowOutcome outcome) {
    VarCharVector text = (VarCharVector) struct.getChild("text");
    VarCharVector finish = (VarCharVector) struct.getChild("finish_reason");
    IntVector promptTokens = (IntVector) struct.getChild("prompt_tokens");
    IntVector completionTokens = (IntVector) struct.getChild("completion_tokens");
    VarCharVector error = (VarCharVector) struct.getChild("error");
    if (outcome == null) {
      struct.setNull(row);
      for (FieldVector child : struct.getChildrenFromFields()) {
        child.setNull(row);
      }
      return;
    }
    struct.setIndexDefined(row);
    if (outcome.result() != null) {
      setText(text, row, outcome.result().text());
      setText(finish, row, outcome.result().finishReason().label());
      promptTokens.setSafe(row, outcome.result().promptTokens());
      completionTokens.setSafe(row, outcome.result().completionTokens());
      error.setNull(row);
    } else {
      text.setNull(row);
      finish.setNull(row);
      promptTokens.setNull(row);
      completionTokens.setNull(row);
      setText(error, row, outcome.error());
    }
  }

  private static void setText(VarCharVector vector, int row, String value) {
    if (value == null) {
      vector.setNull(row);
    } else {
      vector.setSafe(row, value.getBytes(StandardCharsets.UTF_8));
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
