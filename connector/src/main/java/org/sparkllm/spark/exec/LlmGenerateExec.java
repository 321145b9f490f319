package org.sparkllm.spark.exec;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.AttributeSet;
import org.apache.spark.sql.catalyst.expressions.AttributeSet$;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.SortOrder;
import org.apache.spark.sql.catalyst.plans.physical.Partitioning;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.metric.SQLMetric;
import org.sparkllm.spark.expressions.LlmGenerate;
import org.sparkllm.spark.util.ScalaSeqs;
import scala.collection.immutable.IndexedSeq;
import scala.collection.immutable.Map;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Runs llm_generate calls over each partition of its child, in the shape of Spark's EvalPythonExec:
 * output = child.output ++ one result attribute per call, rows in input order. The per-partition work
 * is {@link PartitionGenerator}; partitioning and ordering of the child are kept.
 */
public final class LlmGenerateExec extends SparkPlan {
  private static final long serialVersionUID = 1L;

  private final Seq<Expression> calls;
  private final Seq<Attribute> resultAttrs;
  private final SparkPlan child;
  private final LlmGenerateMetrics llmMetrics;

  public LlmGenerateExec(Seq<Expression> calls, Seq<Attribute> resultAttrs, SparkPlan child) {
    this.calls = calls;
    this.resultAttrs = resultAttrs;
    this.child = child;
    this.llmMetrics = new LlmGenerateMetrics(sparkContext());
  }

  public SparkPlan child() {
    return child;
  }

  @Override
  public Map<String, SQLMetric> metrics() {
    return Map.from(CollectionConverters.asScala(llmMetrics.all()));
  }

  @Override
  public RDD<InternalRow> doExecute() {
    List<LlmGenerate> callList = new ArrayList<>();
    for (Expression call : ScalaSeqs.list(calls)) {
      callList.add((LlmGenerate) call);
    }
    PartitionTask task = new PartitionTask(callList, child.output(), output(), llmMetrics);
    return child.execute().toJavaRDD().mapPartitionsWithIndex(task, true).rdd();
  }

  @Override
  public Seq<Attribute> output() {
    return ScalaSeqs.concat(child.output(), resultAttrs);
  }

  @Override
  public AttributeSet producedAttributes() {
    return AttributeSet$.MODULE$.apply(ScalaSeqs.<Expression>concat(resultAttrs, ScalaSeqs.seq()));
  }

  @Override
  public Partitioning outputPartitioning() {
    return child.outputPartitioning();
  }

  @Override
  public Seq<SortOrder> outputOrdering() {
    return child.outputOrdering();
  }

  @Override
  public Seq<SparkPlan> children() {
    return ScalaSeqs.seq(child);
  }

  @Override
  public SparkPlan withNewChildrenInternal(IndexedSeq<SparkPlan> newChildren) {
    return new LlmGenerateExec(calls, resultAttrs, newChildren.apply(0));
  }

  @Override
  public int productArity() {
    return 3;
  }

  @Override
  public Object productElement(int n) {
    return switch (n) {
      case 0 -> calls;
      case 1 -> resultAttrs;
      case 2 -> child;
      default -> throw new IndexOutOfBoundsException(n);
    };
  }

  @Override
  public boolean canEqual(Object other) {
    return other instanceof LlmGenerateExec;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof LlmGenerateExec that
        && calls.equals(that.calls)
        && resultAttrs.equals(that.resultAttrs)
        && child.equals(that.child);
  }

  @Override
  public int hashCode() {
    return Objects.hash(calls, resultAttrs, child);
  }
}
