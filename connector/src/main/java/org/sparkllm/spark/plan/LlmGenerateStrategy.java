package org.sparkllm.spark.plan;

import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.SparkStrategy;
import org.sparkllm.spark.exec.LlmGenerateExec;
import org.sparkllm.spark.util.ScalaSeqs;
import scala.collection.immutable.Seq;

/** Plans {@link LlmGenerateNode} as {@link LlmGenerateExec}. */
public final class LlmGenerateStrategy extends SparkStrategy {
  @Override
  public Seq<SparkPlan> apply(LogicalPlan plan) {
    if (plan instanceof LlmGenerateNode node) {
      return ScalaSeqs.seq(new LlmGenerateExec(node.calls(), node.resultAttrs(), planLater(node.child())));
    }
    return ScalaSeqs.seq();
  }
}
