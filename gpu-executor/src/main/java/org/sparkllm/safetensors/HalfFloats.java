package org.sparkllm.safetensors;

/** Bit-exact conversions between float32 and the two 16-bit float formats of model files. */
public final class HalfFloats {
  private HalfFloats() {}

  /** bfloat16 is the upper half of a float32, so widening is exact. */
  public static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat((bits & 0xFFFF) << 16);
  }

  /** Rounds to the nearest bfloat16, ties to even, as PyTorch does; NaN stays a (quiet) NaN. */
  public static short floatToBf16(float value) {
    int bits = Float.floatToRawIntBits(value);
    if (Float.isNaN(value)) {
      // Plain rounding could carry a NaN's payload into the exponent and make it infinity.
      return (short) ((bits >>> 16) | 0x0040);
    }
    int lsbOfResult = (bits >>> 16) & 1;
    return (short) ((bits + 0x7FFF + lsbOfResult) >>> 16);
  }

  /** IEEE 754 binary16 to float32; every half value, subnormals included, is exactly representable. */
  public static float f16ToFloat(short half) {
    int bits = half & 0xFFFF;
    int sign = (bits & 0x8000) << 16;
    int exponent = (bits >>> 10) & 0x1F;
    int mantissa = bits & 0x3FF;
    if (exponent == 0x1F) {
      return Float.intBitsToFloat(sign | 0x7F80_0000 | (mantissa << 13));
    }
    if (exponent == 0) {
      // Zero or subnormal: mantissa × 2^-24, exact in float32.
      float magnitude = mantissa * 0x1p-24f;
      return sign == 0 ? magnitude : -magnitude;
    }
    return Float.intBitsToFloat(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
  }
}
