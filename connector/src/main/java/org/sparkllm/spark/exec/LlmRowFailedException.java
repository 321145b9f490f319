package org.sparkllm.spark.exec;

/**
 * Fails the task for one row: an invalid request with fail_on_error=true, or an engine failure. The
 * message names the row (its ordinal in the partition and the start of its prompt) and the cause.
 */
public final class LlmRowFailedException extends RuntimeException {
  private static final int PROMPT_PREFIX_CHARS = 60;

  LlmRowFailedException(int partition, long ordinal, String prompt, Throwable cause) {
    super(
        "llm_generate failed on row "
            + ordinal
            + " of partition "
            + partition
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
