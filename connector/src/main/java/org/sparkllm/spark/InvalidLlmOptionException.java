package org.sparkllm.spark;

/**
 * An option or {@code spark.llm.*} setting that is unknown, of the wrong type or out of range. The
 * message names it and says what is valid; callers turn it into their own error (an
 * AnalysisException for llm_generate).
 */
public class InvalidLlmOptionException extends IllegalArgumentException {
  public InvalidLlmOptionException(String message) {
    super(message);
  }
}
