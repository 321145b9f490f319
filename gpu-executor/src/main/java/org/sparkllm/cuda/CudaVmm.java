package org.sparkllm.cuda;

import com.sun.jna.Memory;

/**
 * The CUDA virtual-memory calls for one device, each result checked: reserve address ranges, create
 * physical allocations, map them, grant access, unmap, release. Thread-safe (the driver is); the
 * calling thread must have the device's context current for create and setAccess.
 */
public final class CudaVmm {
  private static final int CU_MEM_ALLOC_GRANULARITY_MINIMUM = 0;

  private final int device;
  private final Memory allocationProp;
  private final Memory readWriteAccess;

  public CudaVmm(int device) {
    this.device = device;
    this.allocationProp = VmmStructs.allocationProp(device);
    this.readWriteAccess = VmmStructs.readWriteAccess(device);
  }

  public int device() {
    return device;
  }

  /** The smallest physical allocation and mapping unit (2 MiB on H100/H200). */
  public long granularity() {
    long[] granularity = new long[1];
    CudaResults.check(LibCuda.cuMemGetAllocationGranularity(granularity, allocationProp,
        CU_MEM_ALLOC_GRANULARITY_MINIMUM), "cuMemGetAllocationGranularity");
    return granularity[0];
  }

  public long reserve(long bytes, long alignment) {
    long[] address = new long[1];
    CudaResults.check(LibCuda.cuMemAddressReserve(address, bytes, alignment, 0L, 0L),
        "cuMemAddressReserve(" + bytes + " bytes)");
    return address[0];
  }

  public void free(long address, long bytes) {
    CudaResults.check(LibCuda.cuMemAddressFree(address, bytes), "cuMemAddressFree");
  }

  public long create(long bytes) {
    long[] handle = new long[1];
    CudaResults.check(LibCuda.cuMemCreate(handle, bytes, allocationProp, 0L),
        "cuMemCreate(" + bytes + " bytes)");
    return handle[0];
  }

  public void release(long handle) {
    CudaResults.check(LibCuda.cuMemRelease(handle), "cuMemRelease");
  }

  public void map(long address, long bytes, long handle) {
    CudaResults.check(LibCuda.cuMemMap(address, bytes, 0L, handle, 0L), "cuMemMap");
  }

  public void setReadWrite(long address, long bytes) {
    CudaResults.check(LibCuda.cuMemSetAccess(address, bytes, readWriteAccess, 1L), "cuMemSetAccess");
  }

  public void unmap(long address, long bytes) {
    CudaResults.check(LibCuda.cuMemUnmap(address, bytes), "cuMemUnmap");
  }

  /** Free and total bytes of the current context's device. */
  public static long[] memoryInfo() {
    long[] free = new long[1];
    long[] total = new long[1];
    CudaResults.check(LibCuda.cuMemGetInfo_v2(free, total), "cuMemGetInfo");
    return new long[] {free[0], total[0]};
  }
}
