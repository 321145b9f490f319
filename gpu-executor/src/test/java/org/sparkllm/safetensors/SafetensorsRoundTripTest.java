package org.sparkllm.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkllm.model.ModelLoadException;

class SafetensorsRoundTripTest {
  /** Values bf16 holds exactly: signs, zeros and a wide spread of magnitudes. */
  private static final float[] BF16_EXACT = {0f, -0f, 1f, -1.5f, 0.0078125f, 3.140625f, -65536f, 0x1p-70f};
  private static final float[] F32_VALUES = {0.1f, -1e-30f, Float.MIN_VALUE, 123456.789f, -0f, 7f};

  @TempDir Path dir;

  @Test
  void bf16AndF32ValuesComeBackExactly() {
    write(
        dir.resolve(ModelTensors.SINGLE_FILE_NAME),
        Map.of("format", "pt"),
        List.of(entry("w.bf16", DType.BF16, 2, 4), entry("w.f32", DType.F32, 6)),
        BF16_EXACT, F32_VALUES);

    try (ModelTensors tensors = ModelTensors.open(dir)) {
      assertEquals(java.util.Set.of("w.bf16", "w.f32"), tensors.names());
      assertArrayEquals(BF16_EXACT, tensors.readFloats("w.bf16", 2, 4));
      assertArrayEquals(F32_VALUES, tensors.readFloats("w.f32", 6));
      assertEquals(DType.BF16, tensors.info("w.bf16").dtype());
    }
  }

  @Test
  void bf16IsRoundedToNearestEvenWhenWritten() {
    float[] values = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f};
    write(dir.resolve(ModelTensors.SINGLE_FILE_NAME), Map.of(), List.of(entry("w", DType.BF16, 2)), values);

    try (ModelTensors tensors = ModelTensors.open(dir)) {
      assertArrayEquals(new float[] {1.0f, 1.0f + 0x1p-6f}, tensors.readFloats("w", 2));
    }
  }

  @Test
  void readsAHandWrittenF16File() throws IOException {
    byte[] data = RawSafetensors.shorts(0x3C00, 0xC000, 0x7BFF, 0x0001, 0x3555, 0x8000);
    String header = "{\"h\": {\"dtype\": \"F16\", \"shape\": [3, 2], \"data_offsets\": [0, 12]}}";
    byte[] headerBytes = header.getBytes(StandardCharsets.UTF_8);
    RawSafetensors.write(dir.resolve(ModelTensors.SINGLE_FILE_NAME), headerBytes.length, headerBytes, data);

    try (ModelTensors tensors = ModelTensors.open(dir)) {
      assertArrayEquals(
          new float[] {1f, -2f, 65504f, 0x1p-24f, 0.333251953125f, -0f}, tensors.readFloats("h", 3, 2));
    }
  }

  @Test
  void readsLargeTensorsThroughManySmallWindows() {
    float[] values = new float[1001];
    for (int i = 0; i < values.length; i++) {
      values[i] = i - 500.5f;
    }
    write(
        dir.resolve(ModelTensors.SINGLE_FILE_NAME),
        Map.of(),
        List.of(entry("f32", DType.F32, 1001), entry("bf16", DType.BF16, 7, 143)),
        values, values);

    // 7 bytes: less than two f32 elements and not a multiple of either element size.
    for (long window : new long[] {4, 7, 12, 4096}) {
      try (ModelTensors tensors = ModelTensors.open(dir, window)) {
        assertArrayEquals(values, tensors.readFloats("f32", 1001), "window " + window);
        assertArrayEquals(bf16Rounded(values), tensors.readFloats("bf16", 7, 143), "window " + window);
      }
    }
  }

  @Test
  void theHeaderIsPaddedSortedAndDeterministic() throws IOException {
    Path first = dir.resolve("a.safetensors");
    Path second = dir.resolve("b.safetensors");
    for (Path file : List.of(first, second)) {
      write(file, Map.of("format", "pt"), List.of(entry("z", DType.F32, 1), entry("a", DType.BF16, 3)),
          new float[] {1f}, new float[] {2f, 3f, 4f});
    }

    byte[] bytes = Files.readAllBytes(first);
    assertArrayEquals(bytes, Files.readAllBytes(second));
    long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(0, headerLength % 8);
    String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
    assertEquals(
        "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"a\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[4,10]},"
            + "\"z\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
        header.stripTrailing());
  }

  @Test
  void aShapeMismatchShowsExpectedAndActualShapes() {
    Path file = dir.resolve(ModelTensors.SINGLE_FILE_NAME);
    write(file, Map.of(), List.of(entry("w", DType.F32, 2, 3)), new float[6]);

    try (ModelTensors tensors = ModelTensors.open(dir)) {
      ModelLoadException e = assertThrows(ModelLoadException.class, () -> tensors.readFloats("w", 3, 2));
      assertEquals(file + ": tensor \"w\" has shape [2, 3], expected [3, 2]", e.getMessage());
    }
  }

  @Test
  void aMissingTensorIsNamedWithTheFile() {
    Path file = dir.resolve(ModelTensors.SINGLE_FILE_NAME);
    write(file, Map.of(), List.of(entry("w", DType.F32, 1)), new float[1]);

    try (ModelTensors tensors = ModelTensors.open(dir)) {
      ModelLoadException e = assertThrows(ModelLoadException.class, () -> tensors.readFloats("lm_head.weight", 1));
      assertEquals(file + ": no tensor \"lm_head.weight\"", e.getMessage());
      assertTrue(!tensors.contains("lm_head.weight") && tensors.contains("w"));
    }
  }

  @Test
  void theWriterRefusesValuesPastTheDeclaredTensors() {
    try (SafetensorsWriter writer =
        SafetensorsWriter.create(dir.resolve("x.safetensors"), Map.of(), List.of(entry("w", DType.F32, 2)))) {
      writer.write(new float[2], 0, 2);
      assertThrows(IllegalStateException.class, () -> writer.write(new float[1], 0, 1));
    }
  }

  @Test
  void closingBeforeEveryTensorIsWrittenFails() {
    SafetensorsWriter writer =
        SafetensorsWriter.create(dir.resolve("x.safetensors"), Map.of(), List.of(entry("w", DType.F32, 2)));
    writer.write(new float[1], 0, 1);

    IllegalStateException e = assertThrows(IllegalStateException.class, writer::close);
    assertTrue(e.getMessage().contains("closed before tensor \"w\" was written"), e.getMessage());
  }

  static SafetensorsWriter.Entry entry(String name, DType dtype, long... shape) {
    return new SafetensorsWriter.Entry(name, dtype, shape);
  }

  /** Writes each tensor's values in chunks of 3 to exercise chunked streaming. */
  static void write(Path file, Map<String, String> metadata, List<SafetensorsWriter.Entry> entries, float[]... values) {
    try (SafetensorsWriter writer = SafetensorsWriter.create(file, metadata, entries)) {
      for (float[] tensor : values) {
        for (int at = 0; at < tensor.length; at += 3) {
          writer.write(tensor, at, Math.min(3, tensor.length - at));
        }
      }
    }
  }

  private static float[] bf16Rounded(float[] values) {
    float[] rounded = new float[values.length];
    for (int i = 0; i < values.length; i++) {
      rounded[i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(values[i]));
    }
    return rounded;
  }
}
