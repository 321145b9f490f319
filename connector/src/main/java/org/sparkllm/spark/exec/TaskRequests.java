package org.sparkllm.spark.exec;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.sparkllm.engine.EngineFailedException;
import org.sparkllm.engine.GenerationResult;
import org.sparkllm.engine.InvalidRequestException;
import org.sparkllm.spark.LlmOptions;

/**
 * The engine requests of one task, whoever reads its rows (llm_generate's operator or the llm data
 * source): bounded in flight, identical (options, prompt) pairs sent once, each result turned into
 * a row outcome under fail_on_error, and the totals the metrics report. Closing it cancels what is
 * still in the engine, which frees its KV capacity at the next step.
 */
public final class TaskRequests implements AutoCloseable {
  private record DedupKey(LlmOptions options, String prompt) {}

  private final InFlightLimiter limiter;
  private final Map<DedupKey, CompletableFuture<GenerationResult>> answered = new HashMap<>();
  // Updated from the engine's thread as requests complete.
  private final AtomicLong promptTokens = new AtomicLong();
  private final AtomicLong generatedTokens = new AtomicLong();
  private final AtomicLong lastResultNanos = new AtomicLong();
  private long firstSubmitNanos;
  private long requests;
  private long reusedRows;
  private long failedRows;

  public TaskRequests(int maxInFlight) {
    this.limiter = new InFlightLimiter(maxInFlight);
  }

  /** Sends the prompt unless an identical call was sent before; blocks while the bound is reached. */
  public CompletableFuture<GenerationResult> submit(EngineCall call, String prompt) {
    DedupKey key = new DedupKey(call.options(), prompt);
    CompletableFuture<GenerationResult> earlier = answered.get(key);
    if (earlier != null) {
      reusedRows++;
      return earlier;
    }
    try {
      limiter.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("spark-llm was interrupted (task killed)", e);
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
    requests++;
    return future;
  }

  /**
   * Waits for a row's result. An invalid request is a per-row error when fail_on_error is false;
   * otherwise, and for engine failures, the task fails naming the row.
   *
   * @param where the row, for the error message ("row 3 of partition 1"); built only on failure
   */
  public RowOutcome await(
      EngineCall call, String prompt, CompletableFuture<GenerationResult> future, Supplier<String> where) {
    try {
      return RowOutcome.of(future.get());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("spark-llm was interrupted (task killed)", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof InvalidRequestException && !call.options().failOnError()) {
        failedRows++;
        return RowOutcome.failed(cause.getMessage());
      }
      boolean known = cause instanceof InvalidRequestException || cause instanceof EngineFailedException;
      throw new LlmRowFailedException(where.get(), prompt, known ? cause : e);
    }
  }

  public long requests() {
    return requests;
  }

  public long reusedRows() {
    return reusedRows;
  }

  /** Rows whose request the engine rejected, with fail_on_error=false. */
  public long failedRows() {
    return failedRows;
  }

  public long promptTokens() {
    return promptTokens.get();
  }

  public long generatedTokens() {
    return generatedTokens.get();
  }

  /** First request to last result so far; 0 before any result. */
  public long generationNanos() {
    long last = lastResultNanos.get();
    return firstSubmitNanos != 0 && last > firstSubmitNanos ? last - firstSubmitNanos : 0;
  }

  public int peakInFlight() {
    return limiter.peak();
  }

  @Override
  public void close() {
    answered.values().forEach(f -> f.cancel(false));
  }
}
