package org.sparkllm.spark.engine;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;
import org.sparkllm.cuda.CudaAvailability;
import org.sparkllm.cuda.KernelFatbin;

/**
 * Picks where a task's engine runs from the GPUs Spark assigned it and {@code spark.llm.backend};
 * the log says what was chosen and why, once per device.
 */
final class DeviceChoice {
  private static final Logger LOG = Logger.getLogger(DeviceChoice.class.getName());
  private static final Set<String> LOGGED = ConcurrentHashMap.newKeySet();

  /**
   * @param key the engine's device key: "cpu", or "gpu:ADDRESS" for the GPU Spark assigned
   * @param engineDevice what the engine opens: "cpu", "cuda:ORDINAL" or "megakernel:ORDINAL"
   */
  record Choice(String key, String engineDevice) {}

  private DeviceChoice() {}

  static Choice choose(String[] gpus, String backend) {
    boolean assigned = gpus != null && gpus.length > 0;
    switch (backend) {
      case "cpu" -> {
        logOnce("cpu", "spark-llm: spark.llm.backend=cpu, using the CPU backend");
        return new Choice(assigned ? "gpu:" + gpus[0] : "cpu", "cpu");
      }
      case "cuda", "megakernel" -> {
        String address = assigned ? gpus[0] : "0";
        String why = cudaUnusable();
        if (why != null) {
          throw new IllegalStateException("spark.llm.backend=" + backend + " but CUDA is unusable on this executor: "
              + why + "; use spark.llm.backend=auto to fall back to the CPU");
        }
        logOnce("gpu:" + address, "spark-llm: " + backend + " backend on GPU " + address
            + (assigned ? " (assigned by Spark)" : " (no GPU assigned by Spark: device 0)"));
        return new Choice("gpu:" + address, backend + ":" + ordinal(address));
      }
      default -> {
        if (!assigned) {
          logOnce("cpu", "spark-llm: no GPU assigned to this task, using the CPU backend");
          return new Choice("cpu", "cpu");
        }
        String key = "gpu:" + gpus[0];
        String why = cudaUnusable();
        if (why != null) {
          logOnce(key, "spark-llm: task assigned GPU " + gpus[0] + " but CUDA is unusable (" + why
              + "); using the CPU backend for it");
          return new Choice(key, "cpu");
        }
        int ordinal = ordinal(gpus[0]);
        int major = CudaAvailability.computeCapabilityMajor(ordinal);
        String engineBackend = gpuBackendFor(major);
        logOnce(key, "spark-llm: " + engineBackend + " backend on GPU " + gpus[0] + " (assigned by Spark; compute "
            + "capability " + major + ".x)");
        return new Choice(key, engineBackend + ":" + ordinal);
      }
    }
  }

  /**
   * The backend {@code auto} picks on a usable GPU: the megakernel on Hopper (compute capability 9.x, which
   * its kernels are built for; it runs prefill and the steps it does not take on the CUDA backend it wraps),
   * the CUDA backend elsewhere.
   */
  static String gpuBackendFor(int computeCapabilityMajor) {
    return computeCapabilityMajor == 9 ? "megakernel" : "cuda";
  }

  /** Null when the driver, a device and the kernels are all there; else the reason. */
  private static String cudaUnusable() {
    CudaAvailability.Status status = CudaAvailability.check();
    if (!status.usable()) {
      return status.reason();
    }
    return KernelFatbin.present() ? null : "the kernels fatbin is missing (built without nvcc)";
  }

  private static int ordinal(String address) {
    try {
      return Integer.parseInt(address.trim());
    } catch (NumberFormatException e) {
      throw new IllegalStateException("GPU address \"" + address + "\" from Spark is not a CUDA device ordinal", e);
    }
  }

  private static void logOnce(String device, String message) {
    if (LOGGED.add(device)) {
      LOG.info(message);
    }
  }
}
