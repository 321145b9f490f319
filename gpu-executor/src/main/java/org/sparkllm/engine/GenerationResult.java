package org.sparkllm.engine;

/**
 * The outcome of one request.
 *
 * @param text the completion, without the stop string or end-of-sequence token that ended it
 * @param completionTokenIds every generated id, including a final end-of-sequence id
 * @param timeToFirstTokenNanos from submission to the first generated token
 * @param totalNanos from submission to completion
 * @param preemptions how often the request was evicted and recomputed for lack of KV capacity
 */
public record GenerationResult(
    String text,
    FinishReason finishReason,
    int promptTokens,
    int completionTokens,
    int[] completionTokenIds,
    long timeToFirstTokenNanos,
    long totalNanos,
    int preemptions) {}
