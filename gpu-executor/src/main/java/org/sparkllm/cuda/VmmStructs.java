package org.sparkllm.cuda;

import com.sun.jna.Memory;

/**
 * The two structs of the virtual-memory API, laid out by hand in zeroed native memory (cuda.h, 64-bit):
 * every field we do not set, including reserved bytes and allocFlags, must be zero.
 */
final class VmmStructs {
  /** CUmemAllocationProp: type, requestedHandleTypes, location{type,id}, win32 pointer, allocFlags. */
  static final int ALLOCATION_PROP_BYTES = 32;
  /** CUmemAccessDesc: location{type,id}, flags. */
  static final int ACCESS_DESC_BYTES = 12;

  private static final int CU_MEM_ALLOCATION_TYPE_PINNED = 1;
  private static final int CU_MEM_LOCATION_TYPE_DEVICE = 1;
  private static final int CU_MEM_ACCESS_FLAGS_PROT_READWRITE = 3;

  private VmmStructs() {}

  /** Device-local pinned memory on {@code device}, no shareable handle type. */
  static Memory allocationProp(int device) {
    Memory prop = zeroed(ALLOCATION_PROP_BYTES);
    prop.setInt(0, CU_MEM_ALLOCATION_TYPE_PINNED);
    prop.setInt(8, CU_MEM_LOCATION_TYPE_DEVICE);
    prop.setInt(12, device);
    return prop;
  }

  /** Read-write access for {@code device}. */
  static Memory readWriteAccess(int device) {
    Memory desc = zeroed(ACCESS_DESC_BYTES);
    desc.setInt(0, CU_MEM_LOCATION_TYPE_DEVICE);
    desc.setInt(4, device);
    desc.setInt(8, CU_MEM_ACCESS_FLAGS_PROT_READWRITE);
    return desc;
  }

  private static Memory zeroed(int bytes) {
    Memory memory = new Memory(bytes);
    memory.clear();
    return memory;
  }
}
