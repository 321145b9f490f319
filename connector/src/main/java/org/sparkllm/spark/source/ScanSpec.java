package org.sparkllm.spark.source;

import java.io.Serializable;

/** What every task of one scan needs to read its split, resolved once on the driver. */
record ScanSpec(SourceOptions options, InputFormat format, SourceSchema schema) implements Serializable {}
