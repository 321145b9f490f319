package org.sparkllm.cuda;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * TMA descriptors (CUtensorMap: 128 opaque bytes) encoded by the driver's cuTensorMapEncodeTiled, which JCuda
 * lacks, through JNA. A map only describes memory (address, shape, strides, box, swizzle) and owns nothing.
 * Kernels take it by value as a {@code __grid_constant__} parameter ({@link KernelArgs#addBytes}), so one encoded
 * map serves any number of launches and graph captures for as long as the memory it names stays allocated.
 * Encoding is pure host work.
 */
public final class TensorMaps {
  /** sizeof(CUtensorMap). */
  public static final int BYTES = 128;
  // cuTensorMapEncodeTiled requires a 64-byte aligned output; CUDA 13's cuda.h declares the struct 128-aligned.
  private static final int OUTPUT_ALIGNMENT = 128;
  private static final int DATA_TYPE_BFLOAT16 = 9;  // CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
  private static final int INTERLEAVE_NONE = 0;
  private static final int SWIZZLE_128B = 3;        // CU_TENSOR_MAP_SWIZZLE_128B
  private static final int L2_PROMOTION_256B = 3;   // CU_TENSOR_MAP_L2_PROMOTION_L2_256B
  private static final int OOB_FILL_ZERO = 0;       // CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE: zeros
  private static final int SWIZZLE_SPAN_BYTES = 128;

  private TensorMaps() {}

  /**
   * JNA direct mapping of cuTensorMapEncodeTiled (CUDA 12.0+ drivers), apart from {@link LibCuda} so that a
   * driver without it cannot stop the rest of the binding from loading: CUresult cuTensorMapEncodeTiled(
   * CUtensorMap*, CUtensorMapDataType, cuuint32_t rank, void* globalAddress, const cuuint64_t* globalDim,
   * const cuuint64_t* globalStrides, const cuuint32_t* boxDim, const cuuint32_t* elementStrides, interleave,
   * swizzle, l2Promotion, oobFill). Enums and cuuint32_t map to int, the device address to long (a pointer-sized
   * integer argument on the 64-bit ABIs).
   */
  private static final class Driver {
    static {
      Native.register(Driver.class, LibCuda.openDriverLibrary());
    }

    static native int cuTensorMapEncodeTiled(Pointer tensorMap, int dataType, int rank, long globalAddress,
        long[] globalDim, long[] globalStrides, int[] boxDim, int[] elementStrides, int interleave, int swizzle,
        int l2Promotion, int oobFill);
  }

  /**
   * A row-major bf16 matrix [rows, columns] at {@code address} with rows {@code rowStrideBytes} apart, copied in
   * boxes of {@code boxRows} x {@code boxColumns} elements. Each box lands in shared memory as boxRows rows of
   * boxColumns * 2 bytes with the 16-byte chunks of row r XOR-permuted by r % 8 (CU_TENSOR_MAP_SWIZZLE_128B, the
   * layout of wgmma's 128-byte swizzle mode when the destination is 1024-byte aligned). Elements of a box outside
   * [rows, columns] are written as zeros, so boxes may overhang the matrix's edges.
   */
  public static byte[] bf16Swizzle128(long address, long rows, long columns, long rowStrideBytes, int boxRows,
      int boxColumns) {
    String call = "cuTensorMapEncodeTiled(bf16 [" + rows + ", " + columns + "] at 0x" + Long.toHexString(address)
        + ", row stride " + rowStrideBytes + " B, box " + boxRows + " x " + boxColumns + ")";
    if (boxColumns * 2 > SWIZZLE_SPAN_BYTES) {
      throw new IllegalArgumentException(call + ": a box row must fit the 128-byte swizzle span");
    }
    Memory output = new Memory(BYTES + OUTPUT_ALIGNMENT);
    Memory map = output.align(OUTPUT_ALIGNMENT);
    map.clear(BYTES);
    CudaResults.check(Driver.cuTensorMapEncodeTiled(map, DATA_TYPE_BFLOAT16, 2, address,
        new long[] {columns, rows}, new long[] {rowStrideBytes}, new int[] {boxColumns, boxRows}, new int[] {1, 1},
        INTERLEAVE_NONE, SWIZZLE_128B, L2_PROMOTION_256B, OOB_FILL_ZERO), call);
    return map.getByteArray(0, BYTES);
  }
}
