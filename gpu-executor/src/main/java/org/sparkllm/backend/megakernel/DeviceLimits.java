package org.sparkllm.backend.megakernel;

import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;

import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import org.sparkllm.cuda.CudaResults;

/**
 * What the persistent kernel sizes itself by: one block per SM (all resident at once, or the blocks
 * that wait on each other would deadlock) and the opt-in shared memory per block.
 *
 * @param sms streaming multiprocessors of the device
 * @param maxSharedBytes dynamic shared memory one block may opt in to
 * @param computeMajor compute capability major version (the kernel uses Hopper instructions)
 * @param clockKhz SM clock: converts the watchdog's time budget into clock64 cycles
 */
record DeviceLimits(int sms, int maxSharedBytes, int computeMajor, int clockKhz) {

  static DeviceLimits of(int ordinal) {
    CUdevice device = new CUdevice();
    CudaResults.check(cuDeviceGet(device, ordinal), "cuDeviceGet(" + ordinal + ")");
    return new DeviceLimits(
        attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, "multiprocessor count"),
        attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
            "opt-in shared memory per block"),
        attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, "compute capability"),
        attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_CLOCK_RATE, "clock rate"));
  }

  private static int attribute(CUdevice device, int attribute, String name) {
    int[] value = new int[1];
    CudaResults.check(cuDeviceGetAttribute(value, attribute, device), "cuDeviceGetAttribute(" + name + ")");
    return value[0];
  }
}
