package org.sparkllm.spark;

import java.util.Map;
import java.util.logging.Logger;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;
import org.apache.spark.resource.ResourceInformation;
import org.sparkllm.spark.engine.EngineRegistry;

/**
 * Ties engines to the executor's life ({@code spark.plugins=org.sparkllm.spark.LlmPlugin}): engines
 * are closed, and their memory freed, when the executor shuts down rather than at JVM exit. Without
 * the plugin llm_generate still works; engines then close at JVM exit.
 */
public class LlmPlugin implements SparkPlugin {
  private static final Logger LOG = Logger.getLogger(LlmPlugin.class.getName());

  @Override
  public DriverPlugin driverPlugin() {
    return null;
  }

  @Override
  public ExecutorPlugin executorPlugin() {
    return new ExecutorPlugin() {
      @Override
      public void init(PluginContext ctx, Map<String, String> extraConf) {
        ResourceInformation gpus = ctx.resources().get("gpu");
        LOG.info(
            "spark-llm: executor " + ctx.executorID() + " has "
                + (gpus == null ? "no GPU" : "GPUs " + String.join(",", gpus.addresses()))
                + "; engines load on first use");
      }

      @Override
      public void shutdown() {
        EngineRegistry.get().closeAll();
      }
    };
  }
}
