package org.sparkllm.cuda;

import org.junit.jupiter.api.Assumptions;

/** Shared assumption of the gpu-tagged tests: skipped, not failed, where there is no driver or device. */
public final class GpuTests {
  private GpuTests() {}

  public static void assumeCudaDevice() {
    CudaAvailability.Status status = CudaAvailability.check();
    Assumptions.assumeTrue(status.usable(), () -> "no usable CUDA device: " + status.reason());
  }
}
