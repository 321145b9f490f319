package org.sparkllm.engine;

/** Why generation of a request ended. */
public enum FinishReason {
  /** An end-of-sequence token or a stop string. */
  STOP,
  /** max_tokens tokens were generated. */
  LENGTH,
  /** Prompt plus completion reached the engine's context limit. */
  CONTEXT_LIMIT;

  /** The lower-case name used in results and Spark columns: "stop", "length", "context_limit". */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
