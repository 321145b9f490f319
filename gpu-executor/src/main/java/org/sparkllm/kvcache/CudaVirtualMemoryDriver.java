package org.sparkllm.kvcache;

import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaVmm;

/** {@link VirtualMemoryDriver} over CUDA's VMM API (JNA, see {@link CudaVmm}) for one context's device. */
public final class CudaVirtualMemoryDriver implements VirtualMemoryDriver {
  private final CudaContext context;
  private final CudaVmm vmm;
  private final long granularity;

  public CudaVirtualMemoryDriver(CudaContext context) {
    this.context = context;
    this.vmm = new CudaVmm(context.device());
    this.granularity = vmm.granularity();
  }

  @Override
  public long granularity() {
    return granularity;
  }

  @Override
  public long freeMemoryBytes() {
    return CudaVmm.memoryInfo()[0];
  }

  @Override
  public long reserve(long bytes) {
    return vmm.reserve(bytes, granularity);
  }

  @Override
  public void free(long address, long bytes) {
    vmm.free(address, bytes);
  }

  @Override
  public long create(long bytes) {
    return vmm.create(bytes);
  }

  @Override
  public void release(long handle) {
    vmm.release(handle);
  }

  @Override
  public void map(long address, long bytes, long handle) {
    vmm.map(address, bytes, handle);
  }

  @Override
  public void setAccess(long address, long bytes) {
    vmm.setReadWrite(address, bytes);
  }

  @Override
  public void unmap(long address, long bytes) {
    vmm.unmap(address, bytes);
  }

  @Override
  public void attachThread() {
    context.bindToCurrentThread();
  }
}
