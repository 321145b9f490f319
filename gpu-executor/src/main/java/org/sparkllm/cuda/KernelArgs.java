package org.sparkllm.cuda;

import java.util.ArrayList;
import java.util.List;
import jcuda.NativePointerObject;
import jcuda.Pointer;

/**
 * Kernel parameters in declaration order, each passed by value as the kernel declares it: device
 * addresses and 64-bit integers as {@link #addLong}, 32-bit ones as {@link #addInt}.
 */
public final class KernelArgs {
  private final List<NativePointerObject> values = new ArrayList<>();

  public KernelArgs addLong(long value) {
    values.add(Pointer.to(new long[] {value}));
    return this;
  }

  public KernelArgs addInt(int value) {
    values.add(Pointer.to(new int[] {value}));
    return this;
  }

  public KernelArgs addFloat(float value) {
    values.add(Pointer.to(new float[] {value}));
    return this;
  }

  /** The void** array cuLaunchKernel takes. */
  Pointer toKernelParams() {
    return Pointer.to(values.toArray(new NativePointerObject[0]));
  }
}
