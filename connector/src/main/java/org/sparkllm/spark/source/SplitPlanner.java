package org.sparkllm.spark.source;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.sparkllm.spark.InvalidLlmOptionException;

/**
 * Lists the input files (paths, globs and directories, through the Hadoop FileSystem API) and cuts
 * them into splits of at most max_split_bytes. As in Hadoop's FileInputFormat, the last split may be
 * up to 10% larger rather than leaving a sliver. Compressed files are one split each.
 */
final class SplitPlanner {
  /** A last piece up to this fraction of a split joins the one before. */
  private static final double SPLIT_SLOP = 1.1;

  private SplitPlanner() {}

  /** The files under {@code paths} in path order; a directory contributes its visible files. */
  static List<FileStatus> listFiles(List<String> paths, Configuration conf) {
    TreeMap<String, FileStatus> files = new TreeMap<>();
    try {
      for (String given : paths) {
        Path path = new Path(given);
        FileSystem fs = path.getFileSystem(conf);
        FileStatus[] matches = fs.globStatus(path);
        if (matches == null || matches.length == 0) {
          throw new InvalidLlmOptionException("input path '" + given + "' does not exist or matches no file");
        }
        for (FileStatus match : matches) {
          for (FileStatus file : match.isDirectory() ? fs.listStatus(match.getPath()) : new FileStatus[] {match}) {
            if (file.isFile() && !hidden(file.getPath())) {
              files.put(file.getPath().toString(), file);
            }
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the input of the llm data source: " + paths, e);
    }
    return new ArrayList<>(files.values());
  }

  static List<FileSplit> splits(List<FileStatus> files, long maxSplitBytes, Configuration conf) {
    CompressionCodecFactory codecs = new CompressionCodecFactory(conf);
    List<FileSplit> splits = new ArrayList<>();
    for (FileStatus file : files) {
      String path = file.getPath().toString();
      long length = file.getLen();
      if (length == 0) {
        continue;
      }
      if (codecs.getCodec(file.getPath()) != null) {
        splits.add(new FileSplit(path, 0, length, true));
        continue;
      }
      long start = 0;
      while ((double) (length - start) / maxSplitBytes > SPLIT_SLOP) {
        splits.add(new FileSplit(path, start, maxSplitBytes, false));
        start += maxSplitBytes;
      }
      splits.add(new FileSplit(path, start, length - start, false));
    }
    return splits;
  }

  /** Files such as _SUCCESS or .crc, which Spark's writers leave next to the data. */
  private static boolean hidden(Path path) {
    String name = path.getName();
    return name.startsWith("_") || name.startsWith(".");
  }
}
