package org.sparkllm.spark;

import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.SparkSessionExtensionsProvider;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.apache.spark.sql.catalyst.expressions.ExpressionInfo;
import org.sparkllm.spark.expressions.LlmGenerate;
import org.sparkllm.spark.expressions.LlmGenerateBuilder;
import org.sparkllm.spark.plan.ExtractLlmGenerate;
import org.sparkllm.spark.plan.LlmGenerateStrategy;
import scala.Tuple3;
import scala.runtime.BoxedUnit;

/**
 * Registers llm_generate with a session: the SQL function, the rule that moves calls into their own
 * plan node, and the strategy that plans it. Found through META-INF/services when the jar is on the
 * class path, or named in {@code spark.sql.extensions=org.sparkllm.spark.LlmExtensions}.
 */
public final class LlmExtensions implements SparkSessionExtensionsProvider {
  @Override
  public BoxedUnit apply(SparkSessionExtensions extensions) {
    ExpressionInfo info =
        new ExpressionInfo(
            LlmGenerate.class.getName(), null, "llm_generate", LlmGenerateBuilder.USAGE, "", "", "", "", "", "", "");
    extensions.injectFunction(
        new Tuple3<>(FunctionIdentifier.apply("llm_generate"), info, new LlmGenerateBuilder()));
    extensions.injectPreCBORule(session -> new ExtractLlmGenerate());
    extensions.injectPlannerStrategy(session -> new LlmGenerateStrategy());
    return BoxedUnit.UNIT;
  }
}
