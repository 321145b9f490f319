package org.sparkllm.engine;

/**
 * The engine stopped (closed, or its backend failed): every request in flight and every later one fail
 * with this at once rather than hang.
 */
public class EngineFailedException extends RuntimeException {
  public EngineFailedException(String message, Throwable cause) {
    super(message, cause);
  }
}
