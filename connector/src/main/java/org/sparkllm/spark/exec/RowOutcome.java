package org.sparkllm.spark.exec;

import org.sparkllm.engine.GenerationResult;

/**
 * What one row got: a result, or an error message (a request rejected with fail_on_error=false, or
 * an input line the llm data source could not read a prompt from).
 */
public record RowOutcome(GenerationResult result, String error) {
  public static RowOutcome of(GenerationResult result) {
    return new RowOutcome(result, null);
  }

  public static RowOutcome failed(String error) {
    return new RowOutcome(null, error);
  }
}
