package org.sparkllm.bench.gpu;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import java.util.Arrays;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaResults;

/**
 * The stream a ceiling measurement enqueues on, timed by CUDA events like {@link org.sparkllm.cuda.CudaEvent}.
 * It is its own JCuda stream rather than a {@link org.sparkllm.cuda.CudaStream} because the measurements pass it
 * to calls outside this project's wrappers (cuMemcpyDtoDAsync, and cuBLAS, which takes the raw CUstream value).
 */
final class TimedStream implements AutoCloseable {
  /** JCuda keeps the driver's handle in a protected field; a subclass may read it (cuBLAS needs the value). */
  private static final class Handle extends CUstream {
    long address() {
      return getNativePointer();
    }
  }

  private final Handle stream = new Handle();
  private final CUevent start = new CUevent();
  private final CUevent end = new CUevent();
  private boolean closed;

  TimedStream(CudaContext context) {
    context.checkOwner();
    CudaResults.check(cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    CudaResults.check(cuEventCreate(start, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
    CudaResults.check(cuEventCreate(end, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
  }

  CUstream handle() {
    return stream;
  }

  /** The driver's CUstream (the same value as a runtime cudaStream_t). */
  long address() {
    return stream.address();
  }

  void synchronize() {
    CudaResults.check(cuStreamSynchronize(stream), "cuStreamSynchronize");
  }

  /**
   * Runs {@code work} (which enqueues on this stream) {@code warmup} times untimed, then {@code iterations}
   * times, each between two events; returns the median milliseconds, which ignores the odd slow run.
   */
  double medianMillis(int warmup, int iterations, Runnable work) {
    if (iterations < 1) {
      throw new IllegalArgumentException("iterations must be at least 1, got " + iterations);
    }
    for (int i = 0; i < warmup; i++) {
      work.run();
    }
    synchronize();
    double[] millis = new double[iterations];
    float[] elapsed = new float[1];
    for (int i = 0; i < iterations; i++) {
      CudaResults.check(cuEventRecord(start, stream), "cuEventRecord");
      work.run();
      CudaResults.check(cuEventRecord(end, stream), "cuEventRecord");
      CudaResults.check(cuEventSynchronize(end), "cuEventSynchronize");
      CudaResults.check(cuEventElapsedTime(elapsed, start, end), "cuEventElapsedTime");
      millis[i] = elapsed[0];
    }
    Arrays.sort(millis);
    return iterations % 2 == 1 ? millis[iterations / 2] : (millis[iterations / 2 - 1] + millis[iterations / 2]) / 2;
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CudaResults.check(cuEventDestroy(start), "cuEventDestroy");
      CudaResults.check(cuEventDestroy(end), "cuEventDestroy");
      CudaResults.check(cuStreamDestroy(stream), "cuStreamDestroy");
    }
  }
}
