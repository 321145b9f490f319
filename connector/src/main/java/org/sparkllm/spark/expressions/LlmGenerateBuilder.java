package org.sparkllm.spark.expressions;

import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.internal.SQLConf;
import org.apache.spark.sql.types.StringType;
import org.sparkllm.spark.InvalidLlmOptionException;
import org.sparkllm.spark.LlmAnalysisErrors;
import org.sparkllm.spark.LlmOptions;
import org.sparkllm.spark.engine.ModelLocator;
import org.sparkllm.spark.util.ScalaSeqs;
import scala.collection.immutable.Seq;

/**
 * The function builder of llm_generate: the analyzer calls it once the arguments are resolved. All
 * checks happen here, at analysis time: argument count and type, options, and that the model exists.
 */
public final class LlmGenerateBuilder implements scala.Function1<Seq<Expression>, Expression> {
  public static final String USAGE =
      "llm_generate(prompt[, options]) - completes the prompt with a language model; options is a "
          + "constant map(...) or named_struct(...) with keys "
          + String.join(", ", LlmOptions.OPTIONS.keySet());

  @Override
  public Expression apply(Seq<Expression> arguments) {
    List<Expression> args = ScalaSeqs.list(arguments);
    if (args.isEmpty() || args.size() > 2) {
      throw LlmAnalysisErrors.analysisError(
          "takes 1 or 2 arguments (prompt[, options]) but got " + args.size() + ". " + USAGE);
    }
    Expression prompt = args.get(0);
    if (!(prompt.dataType() instanceof StringType)) {
      throw LlmAnalysisErrors.analysisError(
          "the prompt must be a STRING but " + prompt.sql() + " is " + prompt.dataType().sql());
    }
    try {
      Map<String, String> given = args.size() == 2 ? OptionsArgument.fold(args.get(1)) : Map.of();
      SQLConf conf = SQLConf.get();
      LlmOptions options = LlmOptions.resolve(given, key -> conf.getConfString(key, null));
      ModelLocator.requireModel(options.model(), hadoopConf());
      return new LlmGenerate(prompt, options);
    } catch (InvalidLlmOptionException e) {
      throw LlmAnalysisErrors.analysisError(e.getMessage());
    }
  }

  private static Configuration hadoopConf() {
    return org.apache.spark.sql.classic.SparkSession.active().sessionState().newHadoopConf();
  }
}
