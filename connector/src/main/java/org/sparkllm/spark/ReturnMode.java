package org.sparkllm.spark;

import java.util.Locale;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** What llm_generate returns: the completion text, or a struct with counts and a per-row error. */
public enum ReturnMode {
  TEXT,
  STRUCT;

  public static final StructType STRUCT_TYPE =
      new StructType()
          .add("text", DataTypes.StringType)
          .add("finish_reason", DataTypes.StringType)
          .add("prompt_tokens", DataTypes.IntegerType)
          .add("completion_tokens", DataTypes.IntegerType)
          .add("error", DataTypes.StringType);

  public DataType dataType() {
    return this == TEXT ? DataTypes.StringType : STRUCT_TYPE;
  }

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
