package org.sparkllm.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** The fatbin the kernels module builds, read from the class path. */
public final class KernelFatbin {
  public static final String RESOURCE = "/org/sparkllm/kernels/kernels.fatbin";

  private KernelFatbin() {}

  public static boolean present() {
    return KernelFatbin.class.getResource(RESOURCE) != null;
  }

  /** The fatbin's bytes, for {@link CudaContext#loadModule}. */
  public static byte[] read() {
    try (InputStream in = KernelFatbin.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new KernelsMissingException(RESOURCE);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
  }
}
