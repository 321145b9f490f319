package org.sparkllm.spark.exec;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.JoinedRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.sparkllm.engine.GenerationResult;
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

  /** A batch whose requests are in the engine. */
  private record PendingBatch(PromptBatch prompts, List<CompletableFuture<GenerationResult>[]> futures) {}

  private final int partition;
  private final Iterator<InternalRow> input;
  private final List<EngineCall> calls;
  private final List<UnsafeProjection> promptProjections;
  private final int batchRows;
  private final TaskRequests requests;
  private final BufferAllocator allocator;
  private final LlmGenerateMetrics metrics;
  private final UnsafeProjection outputProjection;
  private final JoinedRow joined = new JoinedRow();

  private final ArrayDeque<PendingBatch> pending = new ArrayDeque<>();
  private long nextOrdinal;
  private PromptBatch emitting;
  private ResultBatch results;
  private int nextRow;
  private boolean metricsFlushed;

  PartitionGenerator(
      int partition,
      Iterator<InternalRow> input,
      List<EngineCall> calls,
      List<UnsafeProjection> promptProjections,
      int batchRows,
      int maxInFlight,
      BufferAllocator allocator,
      LlmGenerateMetrics metrics,
      UnsafeProjection outputProjection) {
    this.partition = partition;
    this.input = input;
    this.calls = calls;
    this.promptProjections = promptProjections;
    this.batchRows = batchRows;
    this.requests = new TaskRequests(maxInFlight);
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
          column[r] = prompt == null ? null : requests.submit(calls.get(c), prompt);
        }
      }
    }
  }

  /** Waits for a batch's results and turns them into an Arrow result batch. */
  private ResultBatch collect(PendingBatch batch) {
    List<ReturnMode> modes = new ArrayList<>();
    List<RowOutcome[]> outcomes = new ArrayList<>();
    for (int c = 0; c < calls.size(); c++) {
      EngineCall call = calls.get(c);
      modes.add(call.options().returnMode());
      CompletableFuture<GenerationResult>[] futures = batch.futures().get(c);
      RowOutcome[] column = new RowOutcome[futures.length];
      for (int r = 0; r < futures.length; r++) {
        if (futures[r] != null) {
          column[r] = outcome(call, batch.prompts(), c, r, futures[r]);
          if (column[r].error() != null) {
            metrics.get(LlmGenerateMetrics.FAILED_ROWS).add(1);
          }
        }
      }
      outcomes.add(column);
    }
    return ResultBatch.of(modes, outcomes, batch.prompts().size(), allocator);
  }

  private RowOutcome outcome(
      EngineCall call, PromptBatch prompts, int c, int r, CompletableFuture<GenerationResult> future) {
    long ordinal = prompts.ordinal(r);
    return requests.await(
        call, prompts.prompt(c, r), future, () -> "row " + ordinal + " of partition " + partition);
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
    metrics.get(LlmGenerateMetrics.ENGINE_REQUESTS).add(requests.requests());
    metrics.get(LlmGenerateMetrics.REUSED_ROWS).add(requests.reusedRows());
    metrics.get(LlmGenerateMetrics.PROMPT_TOKENS).add(requests.promptTokens());
    metrics.get(LlmGenerateMetrics.GENERATED_TOKENS).add(requests.generatedTokens());
    if (requests.generationNanos() > 0) {
      metrics.get(LlmGenerateMetrics.GENERATION_TIME).add(requests.generationNanos());
    }
    metrics.recordPeak(requests.peakInFlight());
  }

  /**
   * At task end, also when it failed or was killed: drops requests still in the engine (cancelling
   * frees their KV capacity at the next step) and releases the Arrow buffers.
   */
  @Override
  public void close() {
    flushMetrics();
    requests.close();
    closeEmitted();
    for (PendingBatch batch : pending) {
      batch.prompts().close();
    }
    pending.clear();
  }
}
