package org.sparkllm.spark.expressions;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.catalyst.util.MapData;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.sparkllm.spark.InvalidLlmOptionException;

/**
 * Folds the options argument of llm_generate, a constant {@code map(...)} or {@code
 * named_struct(...)}, into option name → value text. Values of any simple type are turned into
 * text (32 → "32", true → "true") and parsed by LlmOptions, so {@code map('max_tokens', '32')} and
 * {@code named_struct('max_tokens', 32, 'chat', true)} mean the same.
 */
final class OptionsArgument {
  private OptionsArgument() {}

  static Map<String, String> fold(Expression options) {
    if (!options.foldable()) {
      throw new InvalidLlmOptionException(
          "the options argument must be a constant map(...) or named_struct(...), got "
              + options.sql());
    }
    Object value = options.eval(null);
    Map<String, String> out = new LinkedHashMap<>();
    if (value == null) {
      return out;
    }
    DataType type = options.dataType();
    if (type instanceof MapType map) {
      MapData data = (MapData) value;
      ArrayData keys = data.keyArray();
      ArrayData values = data.valueArray();
      for (int i = 0; i < data.numElements(); i++) {
        String key = String.valueOf(keys.get(i, map.keyType()));
        out.put(key, values.isNullAt(i) ? null : String.valueOf(values.get(i, map.valueType())));
      }
    } else if (type instanceof StructType struct) {
      InternalRow row = (InternalRow) value;
      StructField[] fields = struct.fields();
      for (int i = 0; i < fields.length; i++) {
        out.put(fields[i].name(), row.isNullAt(i) ? null : String.valueOf(row.get(i, fields[i].dataType())));
      }
    } else {
      throw new InvalidLlmOptionException(
          "the options argument must be a map(...) or named_struct(...), got type " + type.sql());
    }
    for (Map.Entry<String, String> e : out.entrySet()) {
      if (e.getValue() == null) {
        throw new InvalidLlmOptionException("option '" + e.getKey() + "' is null; leave it out instead");
      }
    }
    return out;
  }
}
