package org.sparkllm.cuda;

import jcuda.driver.CUresult;

/**
 * Checks every driver result. JCuda's exceptions are left off (they lose the call's name), and the
 * JNA calls return the same CUresult codes, so both go through here.
 */
public final class CudaResults {
  private CudaResults() {}

  /** Throws {@link CudaException} naming {@code call} unless {@code result} is CUDA_SUCCESS. */
  public static void check(int result, String call) {
    if (result != CUresult.CUDA_SUCCESS) {
      // CUresult.stringFor is plain Java: it works even when the failing call was made through JNA.
      throw new CudaException(call, result, CUresult.stringFor(result));
    }
  }
}
