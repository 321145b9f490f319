package org.sparkllm.spark.source;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.connector.metric.CustomTaskMetric;
import org.apache.spark.sql.connector.read.PartitionReader;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.sparkllm.engine.GenerationResult;
import org.sparkllm.spark.LlmOptions;
import org.sparkllm.spark.exec.ArrowAllocators;
import org.sparkllm.spark.exec.EngineCall;
import org.sparkllm.spark.exec.RowOutcome;
import org.sparkllm.spark.exec.TaskRequests;
import org.sparkllm.spark.engine.EngineRegistry;

/**
 * Reads one split: lines become records in batches of spark.llm.batchRows; every prompt of a batch
 * goes to the executor's engine (through {@link TaskRequests}, like llm_generate) while the batch
 * before it is awaited, so the engine always has the next batch to work on. Each awaited batch is
 * returned as an Arrow ColumnarBatch.
 */
final class LlmPartitionReader implements PartitionReader<ColumnarBatch> {
  /** Batches submitted ahead of the one being returned. */
  private static final int LOOKAHEAD_BATCHES = 2;

  /** A batch whose prompts are in the engine; a null future is a record with an input error. */
  private record PendingBatch(List<InputRecord> records, List<CompletableFuture<GenerationResult>> futures) {}

  private final FileSplit split;
  private final SourceSchema schema;
  private final int batchRows;
  private final BufferAllocator allocator;
  private final EngineCall call;
  private final TaskRequests requests;
  private final SplitLineReader lines;
  private final LineParser parser;
  private final ArrayDeque<PendingBatch> pending = new ArrayDeque<>();
  private OutputBatch current;
  private boolean linesLeft = true;
  private long rows;
  private long inputErrors;

  LlmPartitionReader(FileSplit split, ScanSpec spec, Configuration hadoopConf) throws IOException {
    TaskContext task = TaskContext.get();
    LlmOptions llm = spec.options().llm();
    this.split = split;
    this.schema = spec.schema();
    this.batchRows = llm.engine().batchRows();
    // First, so that Spark closes it after this reader (completion listeners run in reverse).
    this.allocator = ArrowAllocators.forTask(task);
    this.call =
        new EngineCall(llm, EngineRegistry.get().engine(llm.model(), gpus(task), llm.engine(), hadoopConf));
    this.requests = new TaskRequests(llm.engine().maxInFlight());
    this.lines = new SplitLineReader(split, hadoopConf);
    this.parser = new LineParser(spec.format(), spec.options().promptColumn(), schema.passThrough(), split.path());
  }

  @Override
  public boolean next() throws IOException {
    closeCurrent();
    submitAhead();
    PendingBatch head = pending.poll();
    if (head == null) {
      return false;
    }
    submitAhead();
    current = OutputBatch.of(schema, head.records(), collect(head), allocator);
    rows += current.rows();
    return true;
  }

  @Override
  public ColumnarBatch get() {
    return current.batch();
  }

  private void submitAhead() throws IOException {
    while (pending.size() < LOOKAHEAD_BATCHES && linesLeft) {
      List<InputRecord> records = new ArrayList<>();
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      while (records.size() < batchRows) {
        SplitLineReader.Line line = lines.next();
        if (line == null) {
          linesLeft = false;
          break;
        }
        if (line.text().isBlank()) {
          continue; // a blank line is no record, as in Spark's json and text sources
        }
        InputRecord record = parser.parse(line);
        records.add(record);
        futures.add(record.prompt() == null ? null : requests.submit(call, record.prompt()));
      }
      if (!records.isEmpty()) {
        pending.add(new PendingBatch(records, futures));
      }
    }
  }

  private RowOutcome[] collect(PendingBatch batch) {
    RowOutcome[] outcomes = new RowOutcome[batch.records().size()];
    for (int r = 0; r < outcomes.length; r++) {
      InputRecord record = batch.records().get(r);
      CompletableFuture<GenerationResult> future = batch.futures().get(r);
      if (future == null) {
        inputErrors++;
        outcomes[r] = RowOutcome.failed(record.error());
      } else {
        outcomes[r] =
            requests.await(
                call, record.prompt(), future, () -> LineParser.where(split.path(), record.offset()));
      }
    }
    return outcomes;
  }

  @Override
  public CustomTaskMetric[] currentMetricsValues() {
    return new CustomTaskMetric[] {
      LlmScanMetrics.value(LlmScanMetrics.ROWS, rows),
      LlmScanMetrics.value(LlmScanMetrics.PROMPT_TOKENS, requests.promptTokens()),
      LlmScanMetrics.value(LlmScanMetrics.GENERATED_TOKENS, requests.generatedTokens()),
      LlmScanMetrics.value(LlmScanMetrics.FAILED_ROWS, inputErrors + requests.failedRows()),
      LlmScanMetrics.value(LlmScanMetrics.GENERATION_TIME, requests.generationNanos() / 1_000_000)
    };
  }

  private void closeCurrent() {
    if (current != null) {
      current.close();
      current = null;
    }
  }

  /** At task end, also when it failed or was killed: cancels requests still in the engine. */
  @Override
  public void close() throws IOException {
    requests.close();
    closeCurrent();
    lines.close();
  }

  private static String[] gpus(TaskContext task) {
    ResourceInformation gpu = task.resourcesJMap().get("gpu");
    return gpu == null ? new String[0] : gpu.addresses();
  }
}
