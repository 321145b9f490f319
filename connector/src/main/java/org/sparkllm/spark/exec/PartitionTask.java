package org.sparkllm.spark.exec;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.deploy.SparkHadoopUtil;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.util.TaskCompletionListener;
import org.sparkllm.spark.EngineSettings;
import org.sparkllm.spark.engine.EngineRegistry;
import org.sparkllm.spark.expressions.LlmGenerate;
import org.sparkllm.spark.util.ScalaSeqs;
import scala.collection.immutable.Seq;

/** What LlmGenerateExec runs on each partition, on the executor. */
final class PartitionTask implements Function2<Integer, Iterator<InternalRow>, Iterator<InternalRow>> {
  private static final long serialVersionUID = 1L;

  private final List<LlmGenerate> calls;
  private final Seq<Attribute> input;
  private final Seq<Attribute> output;
  private final LlmGenerateMetrics metrics;

  PartitionTask(List<LlmGenerate> calls, Seq<Attribute> input, Seq<Attribute> output, LlmGenerateMetrics metrics) {
    this.calls = List.copyOf(calls);
    this.input = input;
    this.output = output;
    this.metrics = metrics;
  }

  @Override
  public Iterator<InternalRow> call(Integer partition, Iterator<InternalRow> rows) {
    TaskContext task = TaskContext.get();
    BufferAllocator allocator = ArrowAllocators.forTask(task);
    String[] gpus = gpus(task);
    Configuration hadoopConf = SparkHadoopUtil.get().conf();
    List<EngineCall> engineCalls = new ArrayList<>();
    List<UnsafeProjection> promptProjections = new ArrayList<>();
    int maxInFlight = Integer.MAX_VALUE;
    int batchRows = Integer.MAX_VALUE;
    for (LlmGenerate call : calls) {
      EngineSettings settings = call.options().engine();
      engineCalls.add(
          new EngineCall(
              call.options(), EngineRegistry.get().engine(call.options().model(), gpus, settings, hadoopConf)));
      promptProjections.add(UnsafeProjection.create(ScalaSeqs.seq(call.prompt()), input));
      maxInFlight = Math.min(maxInFlight, settings.maxInFlight());
      batchRows = Math.min(batchRows, settings.batchRows());
    }
    UnsafeProjection outputProjection =
        UnsafeProjection.create(ScalaSeqs.<Expression>concat(output, ScalaSeqs.seq()), output);
    PartitionGenerator generator =
        new PartitionGenerator(
            partition, rows, engineCalls, promptProjections, batchRows, maxInFlight, allocator, metrics, outputProjection);
    task.addTaskCompletionListener((TaskCompletionListener) context -> generator.close());
    return generator;
  }

  private static String[] gpus(TaskContext task) {
    ResourceInformation gpu = task.resourcesJMap().get("gpu");
    return gpu == null ? new String[0] : gpu.addresses();
  }
}
