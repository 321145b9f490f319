package org.sparkllm.spark.plan;

import java.io.Serializable;
import java.util.Objects;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.AttributeSet;
import org.apache.spark.sql.catalyst.expressions.AttributeSet$;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.sparkllm.spark.util.ScalaSeqs;
import scala.collection.immutable.IndexedSeq;
import scala.collection.immutable.Seq;

/**
 * Evaluates llm_generate calls for every row of its child: output = child.output ++ one attribute
 * per call. Made by {@link ExtractLlmGenerate}, planned as LlmGenerateExec.
 */
public final class LlmGenerateNode extends LogicalPlan implements Serializable {
  private static final long serialVersionUID = 1L;

  private final Seq<Expression> calls;
  private final Seq<Attribute> resultAttrs;
  private final LogicalPlan child;

  /** Arguments in product order, so Catalyst's reflective makeCopy can rebuild the node. */
  public LlmGenerateNode(Seq<Expression> calls, Seq<Attribute> resultAttrs, LogicalPlan child) {
    this.calls = calls;
    this.resultAttrs = resultAttrs;
    this.child = child;
  }

  public Seq<Expression> calls() {
    return calls;
  }

  public Seq<Attribute> resultAttrs() {
    return resultAttrs;
  }

  public LogicalPlan child() {
    return child;
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
  public Seq<LogicalPlan> children() {
    return ScalaSeqs.seq(child);
  }

  @Override
  public LogicalPlan withNewChildrenInternal(IndexedSeq<LogicalPlan> newChildren) {
    return new LlmGenerateNode(calls, resultAttrs, newChildren.apply(0));
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
    return other instanceof LlmGenerateNode;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof LlmGenerateNode that
        && calls.equals(that.calls)
        && resultAttrs.equals(that.resultAttrs)
        && child.equals(that.child);
  }

  @Override
  public int hashCode() {
    return Objects.hash(calls, resultAttrs, child);
  }
}
