package org.sparkllm.cuda;

import jcuda.driver.CUdeviceptr;

/**
 * Converts between our {@code long} device addresses and JCuda's CUdeviceptr. JCuda passes
 * nativePointer + byteOffset to the driver, so an address is a null pointer offset by it.
 */
final class DevicePointers {
  private DevicePointers() {}

  static CUdeviceptr of(long address) {
    return new CUdeviceptr().withByteOffset(address);
  }

  /** A CUdeviceptr for the driver to fill in that can tell its address afterwards. */
  static final class Out extends CUdeviceptr {
    long address() {
      return getNativePointer() + getByteOffset();
    }
  }
}
