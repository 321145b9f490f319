package org.sparkllm.backend.cuda;

import java.util.LinkedHashMap;
import java.util.Map;
import org.sparkllm.cuda.TensorMaps;

/**
 * The TMA descriptors of GEMM operands (bf16, row-major, read in boxes of rows x 64 elements with the 128-byte
 * swizzle), encoded once per (address, shape, row stride, box rows) so that a launch allocates nothing and makes no
 * driver call but the launch. A map bakes in the address and the row count, so activations get one map per M they
 * are used with; the least recently used maps beyond {@code capacity} are dropped. Dropping one invalidates nothing:
 * kernels take the bytes by value, and launches and captured graphs keep their own copies. Not thread-safe (one
 * {@link GemmKernels} per stream-owning thread).
 */
final class GemmTensorMaps {
  private record Key(long address, long rows, long columns, long rowStrideBytes, int boxRows) {}

  private final Map<Key, byte[]> maps;

  GemmTensorMaps(int capacity) {
    this.maps = new LinkedHashMap<>(64, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<Key, byte[]> eldest) {
        return size() > capacity;
      }
    };
  }

  /** The map of bf16 [rows, columns] at {@code address}, rows {@code rowStrideBytes} apart, boxes of boxRows x 64. */
  byte[] bf16Rows(long address, long rows, long columns, long rowStrideBytes, int boxRows) {
    return maps.computeIfAbsent(new Key(address, rows, columns, rowStrideBytes, boxRows),
        key -> TensorMaps.bf16Swizzle128(address, rows, columns, rowStrideBytes, boxRows, GemmKernels.K_TILE));
  }
}
