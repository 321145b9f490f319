package org.sparkllm.spark;

import org.apache.spark.sql.AnalysisException;
import scala.collection.immutable.Map;

/** Raises the AnalysisExceptions that llm_generate reports for bad options, models and plans. */
public final class LlmAnalysisErrors {
  private LlmAnalysisErrors() {}

  /**
   * Throws an AnalysisException with {@code message}. Declared to return an unchecked exception so
   * callers write {@code throw analysisError(...)}: AnalysisException is checked in Java, but the
   * Scala interfaces we implement (function builders, rules) throw it undeclared, as Spark does.
   *
   * <p>Spark only accepts registered error classes; this one carries a free-form message, which
   * lets the message name the option or path and list what is valid.
   */
  public static RuntimeException analysisError(String message) {
    throw LlmAnalysisErrors.<RuntimeException>undeclared(
        new AnalysisException(
            "_LEGACY_ERROR_TEMP_1332", new Map.Map1<>("errorMessage", "llm_generate: " + message)));
  }

  @SuppressWarnings("unchecked")
  private static <E extends Throwable> E undeclared(Throwable e) throws E {
    throw (E) e;
  }
}
