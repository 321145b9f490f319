package org.sparkllm.spark.exec;

/**
 * Fails the task for one row: an invalid request with fail_on_error=true, or an engine failure. The
 * message names the row (where it came from and the start of its prompt) and the cause.
 */
public final class LlmRowFailedException extends RuntimeException {
  private static final int PROMPT_PREFIX_CHARS = 60;

  /** @param where the row, e.g. "row 3 of partition 1" or "the line at byte 120 of file:/in.jsonl" */
  LlmRowFailedException(String where, String prompt, Throwable cause) {
    super(
        "spark-llm failed on "
            + where
            + " (prompt \""
            + prefix(prompt)
            + "\"): "
            + cause.getMessage()
            + (cause instanceof org.sparkllm.engine.InvalidRequestException
                ? ". Set the option fail_on_error to false to get a per-row error instead."
                : ""),
        cause);
  }

  private static String prefix(String prompt) {
    return prompt.length() <= PROMPT_PREFIX_CHARS
        ? prompt
        : prompt.substring(0, PROMPT_PREFIX_CHARS) + "...";
  }
}
