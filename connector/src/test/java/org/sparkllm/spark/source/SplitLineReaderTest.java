package org.sparkllm.spark.source;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Splitting at every possible size reads each line exactly once, in order; no Spark needed. */
class SplitLineReaderTest {
  static final List<String> LINES =
      List.of("first", "", "a longer second line", "x", "ünïcödé ✓", "\r-led", "last without newline");

  @TempDir Path dir;

  @Test
  void everySplitSizeReadsEachLineOnce() throws IOException {
    Path file = dir.resolve("lines.txt");
    // Mixed \n and \r\n endings; the last line has no terminator.
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < LINES.size(); i++) {
      text.append(LINES.get(i));
      if (i < LINES.size() - 1) {
        text.append(i % 2 == 0 ? "\n" : "\r\n");
      }
    }
    Files.writeString(file, text, StandardCharsets.UTF_8);
    Configuration conf = new Configuration();
    long length = Files.size(file);
    for (long max = 1; max <= length + 1; max++) {
      List<FileSplit> splits =
          SplitPlanner.splits(SplitPlanner.listFiles(List.of(file.toString()), conf), max, conf);
      assertEquals(LINES, readAll(splits, conf), "max_split_bytes " + max);
    }
  }

  @Test
  void compressedFilesAreOneSplitAndDirectoriesAreListed() throws IOException {
    try (GZIPOutputStream out = new GZIPOutputStream(Files.newOutputStream(dir.resolve("b.txt.gz")))) {
      out.write("one\ntwo\n".getBytes(StandardCharsets.UTF_8));
    }
    Files.writeString(dir.resolve("a.txt"), "zero\n");
    Files.writeString(dir.resolve("_SUCCESS"), "");
    Configuration conf = new Configuration();
    List<FileSplit> splits = SplitPlanner.splits(SplitPlanner.listFiles(List.of(dir.toString()), conf), 2, conf);
    assertEquals(List.of("zero", "one", "two"), readAll(splits, conf));
    assertEquals(1, splits.stream().filter(FileSplit::whole).count());
  }

  private static List<String> readAll(List<FileSplit> splits, Configuration conf) throws IOException {
    List<String> lines = new ArrayList<>();
    for (FileSplit split : splits) {
      try (SplitLineReader reader = new SplitLineReader(split, conf)) {
        for (SplitLineReader.Line line = reader.next(); line != null; line = reader.next()) {
          lines.add(line.text());
        }
      }
    }
    return lines;
  }
}
