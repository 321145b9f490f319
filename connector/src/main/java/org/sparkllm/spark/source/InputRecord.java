package org.sparkllm.spark.source;

/**
 * One input line as read: its pass-through values and prompt, or why no prompt could be read.
 *
 * @param offset the byte where the line starts in its file, to name it in errors
 * @param fields pass-through values in schema order; null entries are null values
 * @param error set when the line is malformed or has no prompt; the prompt is then null
 */
record InputRecord(long offset, String[] fields, String prompt, String error) {}
