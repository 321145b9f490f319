package org.sparkllm.cuda;

import static jcuda.driver.JCudaDriver.cuGraphDestroy;
import static jcuda.driver.JCudaDriver.cuGraphExecDestroy;
import static jcuda.driver.JCudaDriver.cuGraphInstantiate;
import static jcuda.driver.JCudaDriver.cuGraphLaunch;
import static jcuda.driver.JCudaDriver.cuStreamBeginCapture;
import static jcuda.driver.JCudaDriver.cuStreamEndCapture;

import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstreamCaptureMode;

/**
 * Work captured from a stream once and replayed with one launch. Replays use the captured kernel
 * arguments, so they must address memory that stays put: the vAttention KV cache's virtual tensors do.
 */
public final class CudaGraph implements AutoCloseable {
  private final CUgraph graph = new CUgraph();
  private final CUgraphExec exec = new CUgraphExec();
  private boolean closed;

  private CudaGraph() {}

  /** Captures what {@code work} enqueues on {@code stream} (nothing runs) and instantiates it. */
  public static CudaGraph capture(CudaStream stream, Runnable work) {
    CudaGraph g = new CudaGraph();
    // Thread-local mode: other threads (the KV cache's mapper) may keep calling the driver meanwhile.
    CudaResults.check(cuStreamBeginCapture(stream.handle(), CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
        "cuStreamBeginCapture");
    try {
      work.run();
    } finally {
      CudaResults.check(cuStreamEndCapture(stream.handle(), g.graph), "cuStreamEndCapture");
    }
    CudaResults.check(cuGraphInstantiate(g.exec, g.graph, 0L), "cuGraphInstantiate");
    return g;
  }

  public void launch(CudaStream stream) {
    CudaResults.check(cuGraphLaunch(exec, stream.handle()), "cuGraphLaunch");
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CudaResults.check(cuGraphExecDestroy(exec), "cuGraphExecDestroy");
      CudaResults.check(cuGraphDestroy(graph), "cuGraphDestroy");
    }
  }
}
