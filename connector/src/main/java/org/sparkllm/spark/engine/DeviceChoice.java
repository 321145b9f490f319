package org.sparkllm.spark.engine;

import java.util.logging.Logger;

/**
 * Picks the device for a task's engine from the GPUs Spark assigned it. The CUDA backend does not
 * exist yet, so every choice runs on the CPU; the log says why, once per device.
 */
final class DeviceChoice {
  private static final Logger LOG = Logger.getLogger(DeviceChoice.class.getName());
  private static final java.util.Set<String> LOGGED = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private DeviceChoice() {}

  /** "cpu", or "gpu:<address>" for the first GPU Spark gave the task. */
  static String device(String[] gpus, String backend) {
    if (backend.equals("cpu")) {
      logOnce("cpu", "spark-llm: spark.llm.backend=cpu, using the CPU backend");
      return "cpu";
    }
    if (gpus == null || gpus.length == 0) {
      logOnce("cpu", "spark-llm: no GPU assigned to this task, using the CPU backend");
      return "cpu";
    }
    String device = "gpu:" + gpus[0];
    logOnce(
        device,
        "spark-llm: task assigned GPU " + gpus[0]
            + "; CUDA backend not available, using the CPU backend for it");
    return device;
  }

  private static void logOnce(String device, String message) {
    if (LOGGED.add(device)) {
      LOG.info(message);
    }
  }
}
