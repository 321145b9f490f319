package org.sparkllm.spark.exec;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.JoinedRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.sparkllm.engine.EngineFailedException;
import org.sparkllm.engine.GenerationResult;
import org.sparkllm.engine.InvalidRequestException;
import org.sparkllm.spark.LlmOptions;
import org.sparkllm.spark.ReturnMode;

/**
 * The rows of one partition with their llm_generate results, in input order. Input is read in
 * Arrow prompt batches; every prompt is submitted to the engine at once, up to the in-flight bound,
 * while the batch before it is waited for and emitted. So the engine always has the next batch's
 * requests to batch together, and memory holds at most a few batches of rows.
 *
 * <p>Within the partition an identical call (same options, same prompt) is sent to the engine once
 * and its result reused. Results are joined to their input rows and projected to UnsafeRows.
 */
final class PartitionGenerator implements Iterator<InternalRow>, AutoCloseable {
  /** Batches submitted ahead of the one being emitted. */
  private static final int LOOKAHEAD_BATCHES = 2;

  private record DedupKey(LlmOptions options, String prompt) {}

  /** A batch whose requests are in the engine. */
  private record PendingBatch(PromptBatch prompts, List<CompletableFuture<GenerationResult>[]> futures) {}

  private final int partition;
  private final Iterator<InternalRow> input;
  private final List<CallRunner> calls;
  private final List<UnsafeProjection> promptProjections = new ArrayList<>();
  private final int batchRows;
  private final InFlightLimiter limiter;
  private final BufferAllocator allocator;
  private final LlmGenerateMetrics metrics;
  private final UnsafeProjection outputProjection;
  private final JoinedRow joined = new JoinedRow();

  private final ArrayDeque<PendingBatch> pending = new ArrayDeque<>();
  private final Map<DedupKey, CompletableFuture<GenerationResult>> answered = new HashMap<>();
  private final AtomicLong promptTokens = new AtomicLong();
  private final AtomicLong generatedTokens = new AtomicLong();
  private final AtomicLong lastResultNanos = new AtomicLong();
  private long firstSubmitNanos;
  private long nextOrdinal;
  private PromptBatch emitting;
  private ResultBatch results;
  private int nextRow;
  private boolean metricsFlushed;

  PartitionGenerator(
      int partition,
      Iterator<InternalRow> input,
      List<CallRunner> calls,
      int batchRows,
      int maxInFlight,
      BufferAllocator allocator,
      LlmGenerateMetrics metrics,
      UnsafeProjection outputProjection) {
    this.partition = partition;
    this.input = input;
    this.calls = calls;
    calls.forEach(c -> promptProjections.add(c.promptProjection));
    this.batchRows = batchRows;
    this.limiter = new InFlightLimiter(maxInFlight);
    this.allocator = allocator;
    this.metrics = metrics;
    this.outputProjection = outputProjection;
  }

  @Override
  public boolean hasNext() {
    if (results != null && nextRow < emitting.size()) {
      return true;
    }
    closeEmitted();
    submitAhead();
    PendingBatch head = pending.poll();
    if (head == null) {
      flushMetrics();
      return false;
    }
    submitAhead(); // keep the engine busy with the next batch while this one finishes
    emitting = head.prompts();
    results = collect(head);
    nextRow = 0;
    return true;
  }

  @Override
  public InternalRow next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    InternalRow out = outputProjection.apply(joined.apply(emitting.rows.get(nextRow), results.row(nextRow)));
    nextRow++;
    metrics.get(LlmGenerateMetrics.OUTPUT_ROWS).add(1);
    return out;
  }

  private void submitAhead() {
    while (pending.size() < LOOKAHEAD_BATCHES && input.hasNext()) {
      PromptBatch batch = PromptBatch.read(input, promptProjections, batchRows, nextOrdinal, allocator);
      nextOrdinal += batch.size();
      List<CompletableFuture<GenerationResult>[]> futures = new ArrayList<>();
      pending.add(new PendingBatch(batch, futures));
      for (int c = 0; c < calls.size(); c++) {
        @SuppressWarnings("unchecked")
        CompletableFuture<GenerationResult>[] column = new CompletableFuture[batch.size()];
        futures.add(column);
        for (int r = 0; r < batch.size(); r++) {
          String prompt = batch.prompt(c, r);
          column[r] = prompt == null ? null : submitOnce(calls.get(c), prompt);
        }
      }
    }
  }

  private CompletableFuture<GenerationResult> submitOnce(CallRunner call, String prompt) {
    DedupKey key = new DedupKey(call.options, prompt);
    CompletableFuture<GenerationResult> earlier = answered.get(key);
    if (earlier != null) {
      metrics.get(LlmGenerateMetrics.REUSED_ROWS).add(1);
      return earlier;
    }
    try {
      limiter.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("llm_generate was interrupted (task killed)", e);
    }
    if (firstSubmitNanos == 0) {
      firstSubmitNanos = System.nanoTime();
    }
    CompletableFuture<GenerationResult> future = call.submit(prompt);
    future.whenComplete(
        (result, error) -> {
          limiter.release();
          lastResultNanos.accumulateAndGet(System.nanoTime(), Math::max);
          if (result != null) {
            promptTokens.addAndGet(result.promptTokens());
            generatedTokens.addAndGet(result.completionTokens());
          }
        });
    answered.put(key, future);
    metrics.get(LlmGenerateMetrics.ENGINE_REQUESTS).add(1);
    return future;
  }

  /** Waits for a batch's results and turns them into an Arrow result batch. */
  private ResultBatch collect(PendingBatch batch) {
    List<ReturnMode> modes = new ArrayList<>();
    List<RowOutcome[]> outcomes = new ArrayList<>();
    for (int c = 0; c < calls.size(); c++) {
      CallRunner call = calls.get(c);
      modes.add(call.options.returnMode());
      CompletableFuture<GenerationResult>[] futures = batch.futures().get(c);
      RowOutcome[] column = new RowOutcome[futures.length];
      for (int r = 0; r < futures.length; r++) {
        if (futures[r] != null) {
          column[r] = outcome(call, batch.prompts(), c, r, futures[r]);
        }
      }
      outcomes.add(column);
    }
    return ResultBatch.of(modes, outcomes, batch.prompts().size(), allocator);
  }

  private RowOutcome outcome(
      CallRunner call, PromptBatch prompts, int c, int r, CompletableFuture<GenerationResult> future) {
    try {
      return RowOutcome.of(future.get());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("llm_generate was interrupted (task killed)", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof InvalidRequestException && !call.options.failOnError()) {
        metrics.get(LlmGenerateMetrics.FAILED_ROWS).add(1);
        return RowOutcome.failed(cause.getMessage());
      }
      if (cause instanceof InvalidRequestException || cause instanceof EngineFailedException) {
        throw new LlmRowFailedException(partition, prompts.ordinal(r), prompts.prompt(c, r), cause);
      }
      throw new LlmRowFailedException(partition, prompts.ordinal(r), prompts.prompt(c, r), e);
    }
  }

  private void closeEmitted() {
    if (results != null) {
      results.close();
      results = null;
    }
    if (emitting != null) {
      emitting.close();
      emitting = null;
    }
  }

  private void flushMetrics() {
    if (metricsFlushed) {
      return;
    }
    metricsFlushed = true;
    metrics.get(LlmGenerateMetrics.PROMPT_TOKENS).add(promptTokens.get());
    metrics.get(LlmGenerateMetrics.GENERATED_TOKENS).add(generatedTokens.get());
    if (firstSubmitNanos != 0 && lastResultNanos.get() > firstSubmitNanos) {
      metrics.get(LlmGenerateMetrics.GENERATION_TIME).add(lastResultNanos.get() - firstSubmitNanos);
    }
    metrics.recordPeak(limiter.peak());
  }

  /**
   * At task end, also when it failed or was killed: drops requests still in the engine (cancelling
   * frees their KV capacity at the next step) and releases the Arrow buffers.
   */
  @Override
  public void close() {
    flushMetrics();
    answered.values().forEach(f -> f.cancel(false));
    closeEmitted();
    for (PendingBatch batch : pending) {
      batch.prompts().close();
    }
    pending.clear();
  }
}
