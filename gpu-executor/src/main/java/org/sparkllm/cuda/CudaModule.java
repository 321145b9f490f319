package org.sparkllm.cuda;

import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;

import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;

/**
 * A loaded fatbin. Always through cuModuleLoadData: JCuda's cuModuleLoadFatBinary fails with
 * CUDA_ERROR_INVALID_HANDLE (DESIGN.md section 6), while cuModuleLoadData takes fatbins too.
 */
public final class CudaModule implements AutoCloseable {
  private final CUmodule module = new CUmodule();
  private boolean closed;

  private CudaModule() {}

  static CudaModule load(CudaContext context, byte[] image) {
    CudaModule m = new CudaModule();
    CudaResults.check(cuModuleLoadData(m.module, image), "cuModuleLoadData(" + image.length + " bytes)");
    return m;
  }

  public CudaKernel kernel(String name) {
    CUfunction function = new CUfunction();
    CudaResults.check(cuModuleGetFunction(function, module, name), "cuModuleGetFunction(" + name + ")");
    return new CudaKernel(name, function);
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      CudaResults.check(cuModuleUnload(module), "cuModuleUnload");
    }
  }
}
