package org.sparkllm.cuda;

/** A CUDA driver call that returned an error: carries the call and the driver's error name. */
public final class CudaException extends RuntimeException {
  private final String call;
  private final int code;
  private final String errorName;

  public CudaException(String call, int code, String errorName) {
    super(call + " failed: " + errorName + " (" + code + ")");
    this.call = call;
    this.code = code;
    this.errorName = errorName;
  }

  public String call() {
    return call;
  }

  public int code() {
    return code;
  }

  public String errorName() {
    return errorName;
  }
}
