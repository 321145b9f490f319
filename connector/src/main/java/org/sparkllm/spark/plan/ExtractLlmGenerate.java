package org.sparkllm.spark.plan;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.AttributeReference;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.catalyst.plans.logical.Filter;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.Project;
import org.apache.spark.sql.catalyst.rules.Rule;
import org.apache.spark.sql.types.Metadata;
import org.sparkllm.spark.LlmAnalysisErrors;
import org.sparkllm.spark.expressions.LlmGenerate;
import org.sparkllm.spark.util.ScalaSeqs;

/**
 * Moves llm_generate calls out of Project and Filter into an {@link LlmGenerateNode} below them,
 * leaving attributes in their place, as Spark's ExtractPythonUDFs does for Python UDFs. It runs as a
 * pre-CBO rule, once, after operator optimisation: filters on input columns have already been pushed
 * below the Project (the call is deterministic), so they stay below the node.
 *
 * <p>Nested calls (a prompt built from another call's result) become a chain of nodes, innermost
 * first. Identical calls in one operator share one result.
 */
public final class ExtractLlmGenerate extends Rule<LogicalPlan> {

  @Override
  public LogicalPlan apply(LogicalPlan plan) {
    List<LogicalPlan> children = ScalaSeqs.list(plan.children());
    List<LogicalPlan> rewritten = new ArrayList<>(children.size());
    boolean changed = false;
    for (LogicalPlan child : children) {
      LogicalPlan r = apply(child);
      changed |= r != child;
      rewritten.add(r);
    }
    LogicalPlan node = changed ? plan.withNewChildren(ScalaSeqs.seq(rewritten)) : plan;
    if (node instanceof LlmGenerateNode || !containsCall(ScalaSeqs.list(node.expressions()))) {
      return node;
    }
    if (node instanceof Project || node instanceof Filter) {
      return extract(node);
    }
    throw LlmAnalysisErrors.analysisError(
        "llm_generate is supported in select lists (select, withColumn) and filters, not in "
            + node.nodeName()
            + "; compute it in a select first and use the resulting column");
  }

  private static LogicalPlan extract(LogicalPlan node) {
    List<Attribute> originalOutput = ScalaSeqs.list(node.output());
    LogicalPlan current = node;
    List<LlmGenerate> calls;
    while (!(calls = innermostCalls(ScalaSeqs.list(current.expressions()))).isEmpty()) {
      Map<Expression, Attribute> results = new LinkedHashMap<>();
      for (LlmGenerate call : calls) {
        results.computeIfAbsent(
            call.canonicalized(),
            c ->
                new AttributeReference(
                    "llm_result",
                    call.dataType(),
                    true,
                    Metadata.empty(),
                    NamedExpression.newExprId(),
                    ScalaSeqs.seq()));
      }
      List<Expression> distinctCalls = new ArrayList<>();
      Map<Expression, Boolean> seen = new LinkedHashMap<>();
      for (LlmGenerate call : calls) {
        if (seen.putIfAbsent(call.canonicalized(), true) == null) {
          distinctCalls.add(call);
        }
      }
      LogicalPlan child = current.children().head();
      LlmGenerateNode generate =
          new LlmGenerateNode(
              ScalaSeqs.seq(distinctCalls), ScalaSeqs.seq(new ArrayList<>(results.values())), child);
      current =
          current
              .transformExpressions(new ReplaceExpressions(results))
              .withNewChildren(ScalaSeqs.seq(generate));
    }
    if (node instanceof Filter) {
      // A Filter passes its child's output through; drop the result columns again.
      return new Project(ScalaSeqs.seq(new ArrayList<NamedExpression>(originalOutput)), current);
    }
    return current;
  }

  private static boolean containsCall(List<Expression> expressions) {
    for (Expression e : expressions) {
      if (e instanceof LlmGenerate || containsCall(ScalaSeqs.list(e.children()))) {
        return true;
      }
    }
    return false;
  }

  /** Calls whose prompt holds no other call: they can run first. */
  private static List<LlmGenerate> innermostCalls(List<Expression> expressions) {
    List<LlmGenerate> found = new ArrayList<>();
    for (Expression e : expressions) {
      if (e instanceof LlmGenerate call && !containsCall(List.of(call.prompt()))) {
        found.add(call);
      } else {
        found.addAll(innermostCalls(ScalaSeqs.list(e.children())));
      }
    }
    return found;
  }
}
