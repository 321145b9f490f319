package org.sparkllm.examples.bench;

/** One timed run of the whole workload: what came back and how long it took. */
record Pass(long rows, long promptTokens, long outputTokens, double seconds) {}
