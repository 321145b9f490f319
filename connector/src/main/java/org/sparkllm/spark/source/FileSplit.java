package org.sparkllm.spark.source;

import org.apache.spark.sql.connector.read.InputPartition;

/**
 * A byte range of one input file, read by one task. A split owns the lines that start inside
 * (start, start + length], plus the line at byte 0 for the first split: the same rule as Hadoop's
 * LineRecordReader, so each line is read exactly once whatever the split boundaries.
 *
 * @param whole true for a compressed file, which cannot be entered at a byte offset
 */
record FileSplit(String path, long start, long length, boolean whole) implements InputPartition {
  long end() {
    return start + length;
  }
}
