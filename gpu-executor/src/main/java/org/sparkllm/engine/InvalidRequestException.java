package org.sparkllm.engine;

/**
 * A request the engine cannot run as given (a null or too long prompt, an invalid option). It fails
 * only that request; the message names the bad value and how to fix it.
 */
public class InvalidRequestException extends RuntimeException {
  public InvalidRequestException(String message) {
    super(message);
  }
}
