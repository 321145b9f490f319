package org.sparkllm.cuda;

/**
 * Whether this process can use CUDA: the driver library loads, cuInit succeeds and there is at least
 * one device. Checked once through JNA, without loading JCuda's JNI library, so it is safe to call on
 * machines with no driver. Used by backend selection and by the gpu tests' assumptions.
 */
public final class CudaAvailability {

  /** @param reason why CUDA is unusable, or "ok" */
  public record Status(boolean usable, int deviceCount, String reason) {}

  private static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;

  private static volatile Status cached;

  private CudaAvailability() {}

  public static Status check() {
    Status status = cached;
    if (status == null) {
      status = probe();
      cached = status;
    }
    return status;
  }

  public static boolean usable() {
    return check().usable();
  }

  /** The compute capability's major version of device {@code ordinal} (9 for Hopper); CUDA must be usable. */
  public static int computeCapabilityMajor(int ordinal) {
    Status status = check();
    if (!status.usable()) {
      throw new IllegalStateException("CUDA is unusable: " + status.reason());
    }
    int[] major = new int[1];
    int result = LibCuda.cuDeviceGetAttribute(major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, ordinal);
    if (result != 0) {
      throw new IllegalStateException("cuDeviceGetAttribute(compute capability major, device " + ordinal
          + ") returned " + jcuda.driver.CUresult.stringFor(result));
    }
    return major[0];
  }

  private static Status probe() {
    try {
      int init = LibCuda.cuInit(0);
      if (init != 0) {
        return new Status(false, 0, "cuInit returned " + jcuda.driver.CUresult.stringFor(init));
      }
      int[] count = new int[1];
      int result = LibCuda.cuDeviceGetCount(count);
      if (result != 0) {
        return new Status(false, 0, "cuDeviceGetCount returned " + jcuda.driver.CUresult.stringFor(result));
      }
      return count[0] > 0 ? new Status(true, count[0], "ok") : new Status(false, 0, "no CUDA device");
    } catch (LinkageError e) {
      // JNA's message lists the whole class path after the first line.
      String detail = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
      return new Status(false, 0, "no CUDA driver library: " + detail);
    }
  }
}
