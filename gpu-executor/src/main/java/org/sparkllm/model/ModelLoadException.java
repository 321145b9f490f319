package org.sparkllm.model;

/**
 * A model directory that cannot be used: a missing file, or a file whose content is wrong. The message
 * always names the file and what is wrong with it, because model files are untrusted input and the
 * person reading the error has to fix them.
 */
public class ModelLoadException extends RuntimeException {
  public ModelLoadException(String message) {
    super(message);
  }

  public ModelLoadException(String message, Throwable cause) {
    super(message, cause);
  }
}
