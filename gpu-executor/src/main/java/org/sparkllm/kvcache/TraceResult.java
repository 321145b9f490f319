package org.sparkllm.kvcache;

/**
 * What one run of a decode trace against the cache measured.
 *
 * @param blockedStepFraction steps that waited for mapping, over all steps
 * @param p99AddedMicros 99th percentile of the time a step was blocked (0 for unblocked steps)
 * @param wastePct this allocator's page-granularity waste, averaged over steps and sequences
 * @param wastePctPaged16 a 16-token block-table allocator's waste on the same sequences
 * @param preempted decode steps refused capacity (the sequence was dropped)
 */
public record TraceResult(int steps, double blockedStepFraction, double p99AddedMicros, double maxAddedMicros,
    double wastePct, double wastePctPaged16, long completed, long preempted) {}
