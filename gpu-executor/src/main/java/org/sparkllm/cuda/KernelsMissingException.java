package org.sparkllm.cuda;

/** The kernels fatbin is not on the class path: the kernels module was built where nvcc was absent. */
public final class KernelsMissingException extends RuntimeException {
  public KernelsMissingException(String resource) {
    super("CUDA kernels are missing: " + resource + " is not on the class path (the kernels module was built "
        + "without nvcc; rebuild it where nvcc is installed, or with -Dnvcc=/path/to/nvcc -Pnvcc)");
  }
}
