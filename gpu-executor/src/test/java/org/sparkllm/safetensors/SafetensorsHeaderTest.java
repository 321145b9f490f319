package org.sparkllm.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.sparkllm.model.ModelLoadException;

class SafetensorsHeaderTest {
  @TempDir Path dir;

  @Test
  void acceptsAValidHeaderWithMetadata() throws IOException {
    Path file =
        RawSafetensors.write(
            dir.resolve("ok.safetensors"),
            """
            {"__metadata__": {"format": "pt"},
             "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
             "a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]},
             "empty": {"dtype": "F16", "shape": [0, 3], "data_offsets": [4, 4]}}
            """,
            12);

    try (SafetensorsFile opened = SafetensorsFile.open(file)) {
      assertEquals(3, opened.tensors().size());
      TensorInfo b = opened.tensors().get("b");
      assertEquals(DType.F32, b.dtype());
      assertEquals(2, b.elementCount());
      assertEquals(Files.size(file) - 8, b.fileOffset());
    }
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          {"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]                  | malformed JSON header
          [1, 2]                                                                         | header is not a JSON object
          {"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}                 | tensor "t": data_offsets [0, 16] lie outside the data region of 8 bytes
          {"t": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}}                  | tensor "t": data_offsets [8, 4] lie outside the data region
          {"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 8]}}                  | tensor "t": data_offsets [0, 8] span 8 bytes but shape [1] of F32 needs 4
          {"t": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}                  | tensor "t": unsupported dtype "F64" (supported: BF16, F16, F32)
          {"t": {"shape": [1], "data_offsets": [0, 4]}}                                  | tensor "t": "dtype" must be a string, found null
          {"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}                 | tensor "t": "shape" must be a list of non-negative integers, found [-1]
          {"t": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}                | tensor "t": "shape" must be a list of non-negative integers
          {"t": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}                     | tensor "t": "data_offsets" must be a list of 2 non-negative integers, found [0]
          {"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 99999999999999999999]}} | tensor "t": "data_offsets" must be a list of 2 non-negative integers
          {"t": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}} | tensor "t": element count of shape [4294967296,4294967296] overflows
          {"t": {"dtype": "F32", "shape": [2305843009213693952], "data_offsets": [0, 8]}} | tensor "t": element count of shape [2305843009213693952] overflows
          {"t": [1]}                                                                     | tensor "t": entry must be an object
          {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}} | tensor "b": data overlaps tensor "a"
          {"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}} | malformed JSON header: Duplicate field
          {"__metadata__": "pt"}                                                         | "__metadata__" must be an object
          """)
  void rejectsAnInvalidHeaderNamingTheFileAndProblem(String header, String problem) throws IOException {
    Path file = RawSafetensors.write(dir.resolve("bad.safetensors"), header, 8);

    ModelLoadException e = assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(file));

    assertTrue(e.getMessage().startsWith(file + ": " + problem), e.getMessage());
  }

  @Test
  void rejectsAFileShorterThanTheLengthPrefix() throws IOException {
    Path file = Files.write(dir.resolve("short.safetensors"), new byte[5]);

    ModelLoadException e = assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(file));

    assertEquals(file + ": file of 5 bytes is too short for the 8-byte header length", e.getMessage());
  }

  @Test
  void rejectsAHeaderLengthPastTheEndOfTheFile() throws IOException {
    byte[] header = "{}".getBytes(StandardCharsets.UTF_8);
    Path file = RawSafetensors.write(dir.resolve("past.safetensors"), 1000, header, new byte[0]);

    ModelLoadException e = assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(file));

    assertEquals(file + ": header length 1000 does not fit in the file of 10 bytes", e.getMessage());
  }

  @Test
  void rejectsANegativeHeaderLengthWithoutAllocating() throws IOException {
    Path file = RawSafetensors.write(dir.resolve("neg.safetensors"), -1, new byte[8], new byte[0]);

    ModelLoadException e = assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(file));

    assertEquals(
        file + ": header length 18446744073709551615 does not fit in the file of 16 bytes",
        e.getMessage());
  }

  @Test
  void rejectsAHugeHeaderLengthThatFitsTheFileWithoutAllocatingIt() throws IOException {
    Path file = dir.resolve("huge.safetensors");
    long claimed = SafetensorsHeader.MAX_HEADER_BYTES + 1;
    RawSafetensors.write(file, claimed, new byte[0], new byte[0]);
    try (RandomAccessFile sparse = new RandomAccessFile(file.toFile(), "rw")) {
      sparse.setLength(8 + claimed);
    }

    ModelLoadException e = assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(file));

    assertEquals(file + ": header length " + claimed + " exceeds the limit of 104857600", e.getMessage());
  }
}
