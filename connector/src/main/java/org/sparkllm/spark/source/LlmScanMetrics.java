package org.sparkllm.spark.source;

import org.apache.spark.sql.connector.metric.CustomMetric;
import org.apache.spark.sql.connector.metric.CustomSumMetric;
import org.apache.spark.sql.connector.metric.CustomTaskMetric;

/**
 * The llm scan's metrics in the Spark UI (SQL tab), summed over tasks. Spark re-creates each metric
 * on the driver from its class name, so each is a public class with a no-argument constructor.
 */
public final class LlmScanMetrics {
  static final String ROWS = "llmRows";
  static final String PROMPT_TOKENS = "llmPromptTokens";
  static final String GENERATED_TOKENS = "llmGeneratedTokens";
  static final String FAILED_ROWS = "llmFailedRows";
  static final String GENERATION_TIME = "llmGenerationTimeMs";

  private LlmScanMetrics() {}

  static CustomMetric[] all() {
    return new CustomMetric[] {
      new Rows(), new PromptTokens(), new GeneratedTokens(), new FailedRows(), new GenerationTime()
    };
  }

  static CustomTaskMetric value(String name, long value) {
    return new CustomTaskMetric() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public long value() {
        return value;
      }
    };
  }

  public static final class Rows extends CustomSumMetric {
    @Override
    public String name() {
      return ROWS;
    }

    @Override
    public String description() {
      return "rows read (prompts and error rows)";
    }
  }

  public static final class PromptTokens extends CustomSumMetric {
    @Override
    public String name() {
      return PROMPT_TOKENS;
    }

    @Override
    public String description() {
      return "prompt tokens";
    }
  }

  public static final class GeneratedTokens extends CustomSumMetric {
    @Override
    public String name() {
      return GENERATED_TOKENS;
    }

    @Override
    public String description() {
      return "generated tokens";
    }
  }

  public static final class FailedRows extends CustomSumMetric {
    @Override
    public String name() {
      return FAILED_ROWS;
    }

    @Override
    public String description() {
      return "rows with an error (unreadable line, no prompt, rejected request)";
    }
  }

  public static final class GenerationTime extends CustomSumMetric {
    @Override
    public String name() {
      return GENERATION_TIME;
    }

    @Override
    public String description() {
      return "generation time, first request to last result per task, summed (ms)";
    }
  }
}
