package org.sparkllm.cuda;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * Direct JNA mapping of the libcuda functions JCuda 12.6.0 gets wrong (its cuMemCreate passes an
 * uninitialised CUmemAllocationProp) or that the availability check needs before JCuda's JNI library
 * is loaded. Sizes and device addresses are {@code long}; structs are passed as zeroed native memory
 * (see {@link VmmStructs}). Class initialisation fails with UnsatisfiedLinkError where there is no
 * driver: only {@link CudaAvailability} touches this class before knowing.
 */
public final class LibCuda {
  static {
    Native.register(LibCuda.class, openDriverLibrary());
  }

  private LibCuda() {}

  /** The driver installs libcuda.so.1; the unversioned name exists only with the toolkit's stubs. */
  static NativeLibrary openDriverLibrary() {
    try {
      return NativeLibrary.getInstance("libcuda.so.1");
    } catch (UnsatisfiedLinkError versionedMissing) {
      return NativeLibrary.getInstance("cuda");
    }
  }

  public static native int cuInit(int flags);

  public static native int cuDeviceGetCount(int[] count);

  public static native int cuDeviceGetAttribute(int[] value, int attribute, int device);

  public static native int cuMemGetInfo_v2(long[] free, long[] total);

  public static native int cuMemGetAllocationGranularity(long[] granularity, Pointer prop, int option);

  public static native int cuMemCreate(long[] handle, long size, Pointer prop, long flags);

  public static native int cuMemRelease(long handle);

  public static native int cuMemAddressReserve(long[] address, long size, long alignment, long fixedAddress,
      long flags);

  public static native int cuMemAddressFree(long address, long size);

  public static native int cuMemMap(long address, long size, long offset, long handle, long flags);

  public static native int cuMemSetAccess(long address, long size, Pointer accessDescriptors, long count);

  public static native int cuMemUnmap(long address, long size);
}
