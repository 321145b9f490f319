package org.sparkllm.cuda;

import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;

import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;

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

  /** Allows launches with up to {@code bytes} of dynamic shared memory (the default cap is 48 KiB). */
  public void setMaxDynamicSharedBytes(int bytes) {
    CudaResults.check(cuFuncSetAttribute(function,
        CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
        "cuFuncSetAttribute(" + name + ", max dynamic shared " + bytes + ")");
  }
}
