package org.sparkllm.cuda;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;

import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;

/** A timing event: record it on a stream, then wait for it or measure the time between two. */
public final class CudaEvent implements AutoCloseable {
  private final CUevent event = new CUevent();
  private boolean closed;

  private CudaEvent() {}

  static CudaEvent create(CudaContext context) {
    CudaEvent e = new CudaEvent();
    CudaResults.check(cuEventCreate(e.event, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
    return e;
  }

  CUevent handle() {
    return event;
  }

  public void record(CudaStream stream) {
    CudaResults.check(cuEventRecord(event, stream.handle()), "cuEventRecord");
  }

  public void synchronize() {
    CudaResults.check(cuEventSynchronize(event), "cuEventSynchronize");
  }

  /** Milliseconds from {@code start} to this event; both must have completed. */
  public float millisSince(CudaEvent start) {
    float[] millis = new float[1];
    CudaResults.check(cuEventElapsedTime(millis, start.event, event), "cuEventElapsedTime");
    return millis[0];
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CudaResults.check(cuEventDestroy(event), "cuEventDestroy");
    }
  }
}
