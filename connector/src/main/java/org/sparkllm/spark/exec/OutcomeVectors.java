package org.sparkllm.spark.exec;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.complex.StructVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.sparkllm.spark.ReturnMode;

/**
 * Row outcomes as Arrow values in a {@link ReturnMode}: a Utf8 vector of the text, or a struct
 * vector laid out as {@link ReturnMode#STRUCT_TYPE}. Shared by llm_generate's result batches and the
 * llm data source's output batches, so both return the same values.
 */
public final class OutcomeVectors {
  private OutcomeVectors() {}

  public static Field field(String name, ReturnMode mode) {
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

  /** Writes one row of a vector made by {@link #field}; a null outcome is a null value. */
  public static void write(FieldVector vector, ReturnMode mode, int row, RowOutcome outcome) {
    if (mode == ReturnMode.TEXT) {
      setText((VarCharVector) vector, row, outcome == null || outcome.result() == null ? null : outcome.result().text());
    } else {
      setStruct((StructVector) vector, row, outcome);
    }
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

  public static void setText(VarCharVector vector, int row, String value) {
    if (value == null) {
      vector.setNull(row);
    } else {
      vector.setSafe(row, value.getBytes(StandardCharsets.UTF_8));
    }
  }
}
