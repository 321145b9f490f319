package org.sparkllm.kvcache;

/**
 * What one run of a decode trace against the cache measured.
 *
 * @param warmupSteps steps until the trace first ran its full concurrency
 * @param blockedStepFraction steady state (after warm-up): steps that waited for mapping
 * @param p99AddedMicros steady state: 99th percentile of the time a step was blocked (0 if not)
 * @param maxAddedMicros steady state: the longest block
 * @param warmupBlockedStepFraction warm-up: steps that waited for mapping
 * @param warmupMaxAddedMicros warm-up: the longest block
 * @param wastePct this allocator's page-granularity waste, averaged over steps and sequences
 * @param wastePctPaged16 a 16-token block-table allocator's waste on the same sequences
 * @param preempted decode steps refused capacity (the sequence was dropped)
 */
public record TraceResult(int steps, int warmupSteps, double blockedStepFraction, double p99AddedMicros,
    double maxAddedMicros, double warmupBlockedStepFraction, double warmupMaxAddedMicros, double wastePct,
    double wastePctPaged16, long completed, long preempted) {}
