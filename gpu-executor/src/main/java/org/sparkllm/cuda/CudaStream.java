package org.sparkllm.cuda;

import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;
import static jcuda.driver.JCudaDriver.cuStreamWaitEvent;

import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;

/** A non-blocking stream (it does not synchronise with the legacy default stream). */
public final class CudaStream implements AutoCloseable {
  private final CudaContext context;
  private final CUstream stream = new CUstream();
  private boolean closed;

  private CudaStream(CudaContext context) {
    this.context = context;
  }

  static CudaStream create(CudaContext context) {
    CudaStream s = new CudaStream(context);
    CudaResults.check(cuStreamCreate(s.stream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    return s;
  }

  CUstream handle() {
    return stream;
  }

  /** Work queued on this stream after this call starts once {@code event} has completed (on the device). */
  public void waitFor(CudaEvent event) {
    CudaResults.check(cuStreamWaitEvent(stream, event.handle(), 0), "cuStreamWaitEvent");
  }

  public void synchronize() {
    context.checkOwner();
    CudaResults.check(cuStreamSynchronize(stream), "cuStreamSynchronize");
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CudaResults.check(cuStreamDestroy(stream), "cuStreamDestroy");
    }
  }
}
