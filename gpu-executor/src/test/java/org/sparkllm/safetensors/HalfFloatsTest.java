package org.sparkllm.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HalfFloatsTest {
  @Test
  void bf16RoundsToNearestWithTiesToEven() {
    // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7 (bf16 has 7 mantissa bits): the tie goes to 1.
    assertEquals(1.0f, bf16RoundTrip(1.0f + 0x1p-8f));
    // 1 + 3·2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): the tie goes up.
    assertEquals(1.0f + 0x1p-6f, bf16RoundTrip(1.0f + 3 * 0x1p-8f));
    // Just above a tie rounds up.
    assertEquals(1.0f + 0x1p-7f, bf16RoundTrip(1.0f + 0x1p-8f + 0x1p-20f));
    assertEquals(-3.140625f, bf16RoundTrip(-3.14159f));
  }

  @Test
  void bf16KeepsSpecialValues() {
    assertEquals(Float.POSITIVE_INFINITY, bf16RoundTrip(Float.POSITIVE_INFINITY));
    assertEquals(Float.NEGATIVE_INFINITY, bf16RoundTrip(Float.NEGATIVE_INFINITY));
    assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(bf16RoundTrip(-0.0f)));
    // A NaN whose payload sits only in the low bits must not round into infinity.
    assertTrue(Float.isNaN(bf16RoundTrip(Float.intBitsToFloat(0x7F80_0001))));
    // The largest float rounds past bf16's largest finite value, as PyTorch's conversion does.
    assertEquals(Float.POSITIVE_INFINITY, bf16RoundTrip(Float.MAX_VALUE));
  }

  @Test
  void f16DecodesNormalSubnormalAndSpecialValues() {
    assertEquals(1.0f, HalfFloats.f16ToFloat((short) 0x3C00));
    assertEquals(-2.0f, HalfFloats.f16ToFloat((short) 0xC000));
    assertEquals(65504.0f, HalfFloats.f16ToFloat((short) 0x7BFF));
    assertEquals(0x1p-24f, HalfFloats.f16ToFloat((short) 0x0001));
    assertEquals(0x3FFp-24f, HalfFloats.f16ToFloat((short) 0x03FF));
    assertEquals(0.333251953125f, HalfFloats.f16ToFloat((short) 0x3555));
    assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(HalfFloats.f16ToFloat((short) 0x8000)));
    assertEquals(Float.NEGATIVE_INFINITY, HalfFloats.f16ToFloat((short) 0xFC00));
    assertTrue(Float.isNaN(HalfFloats.f16ToFloat((short) 0x7E00)));
  }

  private static float bf16RoundTrip(float value) {
    return HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(value));
  }
}
