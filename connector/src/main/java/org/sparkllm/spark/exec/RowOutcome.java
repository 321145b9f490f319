package org.sparkllm.spark.exec;

import org.sparkllm.engine.GenerationResult;

/** What one call produced for one row: a result, or (with fail_on_error=false) an error message. */
record RowOutcome(GenerationResult result, String error) {
  static RowOutcome of(GenerationResult result) {
    return new RowOutcome(result, null);
  }

  static RowOutcome failed(String error) {
    return new RowOutcome(null, error);
  }
}
