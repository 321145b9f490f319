package org.sparkllm.spark.source;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.sparkllm.spark.InvalidLlmOptionException;
import org.sparkllm.spark.ReturnMode;

/**
 * The columns the llm data source returns: the pass-through fields of the input (STRING), then
 * {@code prompt}, then {@code completion} in the return mode; in text mode also {@code error}, since
 * the completion alone cannot say why it is null.
 */
record SourceSchema(List<String> passThrough, ReturnMode mode) implements Serializable {
  static final String PROMPT = "prompt";
  static final String COMPLETION = "completion";
  static final String ERROR = "error";

  SourceSchema {
    passThrough = List.copyOf(passThrough);
    List<String> outputNames = List.of(outputColumns(mode).fieldNames());
    for (String name : passThrough) {
      if (outputNames.contains(name)) {
        throw new InvalidLlmOptionException(
            "input field '" + name + "' has the name of an output column ("
                + String.join(", ", outputNames)
                + "); give a schema without it or rename it in the input");
      }
    }
  }

  StructType structType() {
    StructType schema = new StructType();
    for (String name : passThrough) {
      schema = schema.add(name, DataTypes.StringType);
    }
    for (StructField field : outputColumns(mode).fields()) {
      schema = schema.add(field);
    }
    return schema;
  }

  private static StructType outputColumns(ReturnMode mode) {
    StructType columns =
        new StructType().add(PROMPT, DataTypes.StringType).add(COMPLETION, mode.dataType());
    return mode == ReturnMode.TEXT ? columns.add(ERROR, DataTypes.StringType) : columns;
  }

  /**
   * A schema given through {@code .schema(...)}: either the pass-through fields alone, or a whole
   * output schema (as {@code df.schema()} of an earlier read returns), recognised by its last
   * columns being the output columns.
   */
  static SourceSchema fromGiven(StructType given, InputFormat format, ReturnMode mode) {
    StructField[] fields = given.fields();
    StructField[] output = outputColumns(mode).fields();
    int passCount = fields.length;
    if (fields.length >= output.length) {
      boolean endsWithOutput = true;
      for (int i = 0; i < output.length; i++) {
        endsWithOutput &= fields[fields.length - output.length + i].equals(output[i]);
      }
      passCount = endsWithOutput ? fields.length - output.length : fields.length;
    }
    List<String> passThrough = new ArrayList<>();
    for (int i = 0; i < passCount; i++) {
      if (!fields[i].dataType().equals(DataTypes.StringType)) {
        throw new InvalidLlmOptionException(
            "pass-through field '" + fields[i].name() + "' is " + fields[i].dataType().sql()
                + "; the llm data source reads input fields as STRING (cast them after reading)");
      }
      passThrough.add(fields[i].name());
    }
    if (format == InputFormat.TEXT && !passThrough.isEmpty()) {
      throw new InvalidLlmOptionException(
          "format text has no fields to pass through, but the schema lists " + passThrough);
    }
    return new SourceSchema(passThrough, mode);
  }

  /**
   * The union of the top-level fields of the first {@code sampleLines} JSON lines, in order of first
   * appearance, without the prompt field. Lines that are not JSON objects are skipped here; reading
   * reports them as per-row errors.
   */
  static SourceSchema infer(
      InputFormat format, SourceOptions options, List<FileStatus> files, Configuration conf) {
    if (format == InputFormat.TEXT) {
      return new SourceSchema(List.of(), options.llm().returnMode());
    }
    ObjectMapper json = new ObjectMapper();
    Set<String> fields = new LinkedHashSet<>();
    int seen = 0;
    try {
      for (FileStatus file : files) {
        FileSplit whole = new FileSplit(file.getPath().toString(), 0, file.getLen(), true);
        try (SplitLineReader reader = new SplitLineReader(whole, conf)) {
          for (SplitLineReader.Line line = reader.next();
              line != null && seen < options.schemaSampleLines();
              line = reader.next()) {
            if (line.text().isBlank()) {
              continue;
            }
            seen++;
            JsonNode node = LineParser.parseOrNull(json, line.text());
            if (node != null && node.isObject()) {
              for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
                fields.add(names.next());
              }
            }
          }
        }
        if (seen >= options.schemaSampleLines()) {
          break;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the input to infer its fields", e);
    }
    fields.remove(options.promptColumn());
    return new SourceSchema(new ArrayList<>(fields), options.llm().returnMode());
  }
}
