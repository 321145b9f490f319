package org.sparkllm.cuda;

import java.util.ArrayList;
import java.util.List;
import jcuda.NativePointerObject;
import jcuda.Pointer;

/**
 * Kernel parameters in declaration order, each passed by value as the kernel declares it: device
 * addresses and 64-bit integers as {@link #addLong}, 32-bit ones as {@link #addInt}, structs as {@link #addBytes}.
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

  /**
   * A parameter passed by value as a block of bytes, e.g. a CUtensorMap; the driver copies it at launch (and a
   * graph capture keeps its own copy), so the array may be reused afterwards.
   */
  public KernelArgs addBytes(byte[] value) {
    values.add(Pointer.to(value));
    return this;
  }

  /** The void** array cuLaunchKernel takes. */
  Pointer toKernelParams() {
    return Pointer.to(values.toArray(new NativePointerObject[0]));
  }
}
