package org.sparkllm.cuda;

import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jcuda.Pointer;

/** Page-locked host memory (cuMemAllocHost) for asynchronous copies, seen from Java as a ByteBuffer. */
public final class PinnedHostBuffer implements AutoCloseable {
  private final Pointer pointer;
  private final long bytes;
  private final ByteBuffer buffer;
  private boolean closed;

  private PinnedHostBuffer(Pointer pointer, long bytes) {
    this.pointer = pointer;
    this.bytes = bytes;
    this.buffer = pointer.getByteBuffer(0, bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  static PinnedHostBuffer allocate(CudaContext context, long bytes) {
    Pointer pointer = new Pointer();
    CudaResults.check(cuMemAllocHost(pointer, bytes), "cuMemAllocHost(" + bytes + " bytes)");
    return new PinnedHostBuffer(pointer, bytes);
  }

  /** Little-endian view of the whole buffer; valid until close. */
  public ByteBuffer buffer() {
    return buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
  }

  public long bytes() {
    return bytes;
  }

  Pointer pointer() {
    return pointer;
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CudaResults.check(cuMemFreeHost(pointer), "cuMemFreeHost");
    }
  }
}
