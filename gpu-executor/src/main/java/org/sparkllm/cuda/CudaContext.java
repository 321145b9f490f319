package org.sparkllm.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuInit;

import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;

/**
 * The device's primary context, owned by the thread that opened it (the engine's step thread): every
 * object made from it is used on that thread, so the context is made current once and never switched.
 * Other threads that need it (the KV cache's mapping thread) call {@link #bindToCurrentThread()}.
 */
public final class CudaContext implements AutoCloseable {
  private final int device;
  private final CUdevice cuDevice = new CUdevice();
  private final CUcontext context = new CUcontext();
  private volatile Thread owner;
  private boolean closed;

  private CudaContext(int device) {
    this.device = device;
    this.owner = Thread.currentThread();
  }

  /** Retains the primary context of {@code device} and makes it current on the calling thread. */
  public static CudaContext openPrimary(int device) {
    JCudaNativeLoader.load();
    CudaContext ctx = new CudaContext(device);
    CudaResults.check(cuInit(0), "cuInit");
    CudaResults.check(cuDeviceGet(ctx.cuDevice, device), "cuDeviceGet(" + device + ")");
    CudaResults.check(cuDevicePrimaryCtxRetain(ctx.context, ctx.cuDevice),
        "cuDevicePrimaryCtxRetain(" + device + ")");
    ctx.bindToCurrentThread();
    return ctx;
  }

  public int device() {
    return device;
  }

  /** The device's name as the driver reports it, e.g. "NVIDIA H100 80GB HBM3". */
  public String deviceName() {
    byte[] name = new byte[256];
    CudaResults.check(cuDeviceGetName(name, name.length, cuDevice), "cuDeviceGetName");
    int end = 0;
    while (end < name.length && name[end] != 0) {
      end++;
    }
    return new String(name, 0, end, java.nio.charset.StandardCharsets.US_ASCII);
  }

  /** Makes this context current on the calling thread (for helper threads; the owner has it already). */
  public void bindToCurrentThread() {
    CudaResults.check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
  }

  /**
   * Hands ownership to the calling thread and makes the context current there: an engine loads its
   * backend on the caller's thread, then its step thread takes the context over before the first step.
   */
  public void transferToCurrentThread() {
    bindToCurrentThread();
    owner = Thread.currentThread();
  }

  /** Fails fast when an object of this context is used from a thread other than its owner. */
  public void checkOwner() {
    if (Thread.currentThread() != owner) {
      throw new IllegalStateException("CUDA context of device " + device + " is owned by " + owner.getName()
          + ", used from " + Thread.currentThread().getName());
    }
    if (closed) {
      throw new IllegalStateException("CUDA context of device " + device + " is closed");
    }
  }

  public void synchronize() {
    checkOwner();
    CudaResults.check(cuCtxSynchronize(), "cuCtxSynchronize");
  }

  /** Free and total device memory in bytes. */
  public long[] memoryInfo() {
    checkOwner();
    return CudaVmm.memoryInfo();
  }

  public CudaModule loadModule(byte[] image) {
    checkOwner();
    return CudaModule.load(this, image);
  }

  public CudaStream createStream() {
    checkOwner();
    return CudaStream.create(this);
  }

  public CudaEvent createEvent() {
    checkOwner();
    return CudaEvent.create(this);
  }

  public DeviceBuffer allocate(long bytes) {
    checkOwner();
    return DeviceBuffer.allocate(this, bytes);
  }

  public PinnedHostBuffer allocatePinned(long bytes) {
    checkOwner();
    return PinnedHostBuffer.allocate(this, bytes);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    checkOwner();
    closed = true;
    CudaResults.check(cuDevicePrimaryCtxRelease(cuDevice), "cuDevicePrimaryCtxRelease");
  }
}
