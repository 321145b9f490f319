package org.sparkllm.spark.plan;

import java.util.Map;
import org.apache.spark.sql.catalyst.expressions.Expression;
import scala.Function1;
import scala.runtime.AbstractPartialFunction;

/** A Catalyst transform that swaps expressions (compared canonically) for replacements. */
final class ReplaceExpressions extends AbstractPartialFunction<Expression, Expression> {
  private final Map<Expression, ? extends Expression> byCanonical;

  ReplaceExpressions(Map<Expression, ? extends Expression> byCanonical) {
    this.byCanonical = byCanonical;
  }

  @Override
  public boolean isDefinedAt(Expression e) {
    return byCanonical.containsKey(e.canonicalized());
  }

  @Override
  public <A1 extends Expression, B1> B1 applyOrElse(A1 e, Function1<A1, B1> fallback) {
    Expression replacement = byCanonical.get(e.canonicalized());
    @SuppressWarnings("unchecked")
    B1 result = replacement != null ? (B1) replacement : fallback.apply(e);
    return result;
  }
}
