package org.sparkllm.cuda;

import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD8Async;

/** Plain device memory (cuMemAlloc), addressed by a {@code long} device address. */
public final class DeviceBuffer implements AutoCloseable {
  private final long address;
  private final long bytes;
  private boolean closed;

  private DeviceBuffer(long address, long bytes) {
    this.address = address;
    this.bytes = bytes;
  }

  static DeviceBuffer allocate(CudaContext context, long bytes) {
    DevicePointers.Out out = new DevicePointers.Out();
    CudaResults.check(cuMemAlloc(out, bytes), "cuMemAlloc(" + bytes + " bytes)");
    return new DeviceBuffer(out.address(), bytes);
  }

  public long address() {
    return address;
  }

  public long bytes() {
    return bytes;
  }

  /** Copies the first {@code count} bytes of {@code source} here, asynchronously on {@code stream}. */
  public void copyFrom(PinnedHostBuffer source, long count, CudaStream stream) {
    checkRange(count, source.bytes());
    CudaResults.check(cuMemcpyHtoDAsync(DevicePointers.of(address), source.pointer(), count, stream.handle()),
        "cuMemcpyHtoDAsync");
  }

  /** Copies the first {@code count} bytes of {@code source} to byte {@code offset} of this buffer. */
  public void copyFromAt(long offset, PinnedHostBuffer source, long count, CudaStream stream) {
    if (offset < 0 || offset + count > bytes) {
      throw new IllegalArgumentException("copy of " + count + " bytes at offset " + offset + " into a buffer of "
          + bytes + " bytes");
    }
    checkRange(count, source.bytes());
    CudaResults.check(cuMemcpyHtoDAsync(DevicePointers.of(address + offset), source.pointer(), count,
        stream.handle()), "cuMemcpyHtoDAsync");
  }

  /** Copies the first {@code count} bytes of this buffer to {@code target}, asynchronously. */
  public void copyTo(PinnedHostBuffer target, long count, CudaStream stream) {
    checkRange(count, target.bytes());
    CudaResults.check(cuMemcpyDtoHAsync(target.pointer(), DevicePointers.of(address), count, stream.handle()),
        "cuMemcpyDtoHAsync");
  }

  public void fill(byte value, CudaStream stream) {
    CudaResults.check(cuMemsetD8Async(DevicePointers.of(address), value, bytes, stream.handle()), "cuMemsetD8Async");
  }

  private void checkRange(long count, long otherBytes) {
    if (count < 0 || count > bytes || count > otherBytes) {
      throw new IllegalArgumentException("copy of " + count + " bytes between buffers of " + bytes + " and "
          + otherBytes + " bytes");
    }
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CudaResults.check(cuMemFree(DevicePointers.of(address)), "cuMemFree");
    }
  }
}
