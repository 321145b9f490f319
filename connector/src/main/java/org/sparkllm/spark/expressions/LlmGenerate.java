package org.sparkllm.spark.expressions;

import java.io.Serializable;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.Unevaluable;
import org.apache.spark.sql.catalyst.expressions.codegen.CodegenContext;
import org.apache.spark.sql.catalyst.expressions.codegen.ExprCode;
import org.apache.spark.sql.types.DataType;
import org.sparkllm.spark.LlmOptions;
import org.sparkllm.spark.util.ScalaSeqs;
import scala.collection.immutable.IndexedSeq;
import scala.collection.immutable.Seq;

/**
 * {@code llm_generate(prompt[, options])} after analysis: the prompt expression and the options,
 * resolved once. It cannot be evaluated row by row; the planner moves every call into an
 * LlmGenerateExec, which batches the prompts of a partition through the engine.
 *
 * <p>Unevaluable, so no optimizer rule (e.g. ConvertToLocalRelation) evaluates it on local data;
 * deterministic (seeded sampling), so filters on input columns are still pushed below it.
 */
public final class LlmGenerate extends Expression implements Unevaluable, Serializable {
  private static final long serialVersionUID = 1L;

  private final Expression prompt;
  private final LlmOptions options;
  private final Seq<Expression> children;

  public LlmGenerate(Expression prompt, LlmOptions options) {
    this.prompt = Objects.requireNonNull(prompt, "prompt");
    this.options = Objects.requireNonNull(options, "options");
    this.children = ScalaSeqs.seq(prompt);
  }

  public Expression prompt() {
    return prompt;
  }

  public LlmOptions options() {
    return options;
  }

  @Override
  public boolean nullable() {
    return true;
  }

  @Override
  public DataType dataType() {
    return options.returnMode().dataType();
  }

  @Override
  public Seq<Expression> children() {
    return children;
  }

  @Override
  public Object eval(InternalRow input) {
    throw new UnsupportedOperationException(
        "llm_generate runs only inside its planned operator (LlmGenerateExec); it cannot be "
            + "evaluated in this position of the plan");
  }

  @Override
  public ExprCode doGenCode(CodegenContext ctx, ExprCode ev) {
    throw new UnsupportedOperationException("llm_generate has no generated code; see LlmGenerateExec");
  }

  @Override
  public Expression withNewChildrenInternal(IndexedSeq<Expression> newChildren) {
    return new LlmGenerate(newChildren.apply(0), options);
  }

  @Override
  public String prettyName() {
    return "llm_generate";
  }

  @Override
  public String toString() {
    return prettyName() + "(" + prompt + givenOptions(" ") + ")";
  }

  @Override
  public String sql() {
    return prettyName() + "(" + prompt.sql() + givenOptions(" ") + ")";
  }

  /** The options the call spelled out, as ", k=v, ..." (session defaults are left out). */
  private String givenOptions(String space) {
    Map<String, String> given = options.given();
    if (given.isEmpty()) {
      return "";
    }
    return given.entrySet().stream()
        .map(e -> e.getKey() + "=" + e.getValue())
        .collect(Collectors.joining("," + space, "," + space + "{", "}"));
  }

  @Override
  public int productArity() {
    return 2;
  }

  @Override
  public Object productElement(int n) {
    return switch (n) {
      case 0 -> prompt;
      case 1 -> options;
      default -> throw new IndexOutOfBoundsException(n);
    };
  }

  @Override
  public boolean canEqual(Object other) {
    return other instanceof LlmGenerate;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof LlmGenerate that
        && prompt.equals(that.prompt)
        && options.equals(that.options);
  }

  @Override
  public int hashCode() {
    return Objects.hash(prompt, options);
  }
}
