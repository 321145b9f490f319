package org.sparkllm.cuda;

import static jcuda.driver.JCudaDriver.cuLaunchKernel;

import jcuda.driver.CUfunction;

/** One kernel of a loaded module. */
public final class CudaKernel {
  private final String name;
  private final CUfunction function;

  CudaKernel(String name, CUfunction function) {
    this.name = name;
    this.function = function;
  }

  public String name() {
    return name;
  }

  /** Enqueues the kernel on {@code stream} (also valid while the stream is being captured). */
  public void launch(LaunchShape shape, CudaStream stream, KernelArgs args) {
    CudaResults.check(cuLaunchKernel(function, shape.gridX(), shape.gridY(), shape.gridZ(), shape.blockX(),
        shape.blockY(), shape.blockZ(), shape.sharedBytes(), stream.handle(), args.toKernelParams(), null),
        "cuLaunchKernel(" + name + ")");
  }
}
