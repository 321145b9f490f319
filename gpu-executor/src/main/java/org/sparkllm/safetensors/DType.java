package org.sparkllm.safetensors;

/** The element types this engine reads from safetensors files, with their names in the header. */
public enum DType {
  BF16(2),
  F16(2),
  F32(4);

  private final int byteSize;

  DType(int byteSize) {
    this.byteSize = byteSize;
  }

  public int byteSize() {
    return byteSize;
  }

  /** The dtype a header names, or null when this engine cannot read it (e.g. "F64", "I8"). */
  static DType fromHeaderName(String name) {
    for (DType type : values()) {
      if (type.name().equals(name)) {
        return type;
      }
    }
    return null;
  }
}
