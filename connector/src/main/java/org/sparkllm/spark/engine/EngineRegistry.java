package org.sparkllm.spark.engine;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.hadoop.conf.Configuration;
import org.sparkllm.engine.Engine;
import org.sparkllm.model.GenerationConfig;
import org.sparkllm.spark.EngineSettings;

/**
 * The engines of this JVM (an executor, or the driver in local mode): created lazily on first use,
 * shared by all tasks, closed when the executor plugin shuts down or, without the plugin, when the
 * JVM exits.
 */
public final class EngineRegistry {
  private static final Logger LOG = Logger.getLogger(EngineRegistry.class.getName());
  private static final EngineRegistry INSTANCE = new EngineRegistry();

  /** An open engine and the sampling defaults of its model. */
  public record LoadedEngine(Engine engine, GenerationConfig generationDefaults) {}

  private final Map<EngineKey, LoadedEngine> engines = new ConcurrentHashMap<>();

  private EngineRegistry() {
    Runtime.getRuntime().addShutdownHook(new Thread(this::closeAll, "spark-llm-engine-shutdown"));
  }

  public static EngineRegistry get() {
    return INSTANCE;
  }

  /** The engine for a model on this task's device, loading it (once) if needed. */
  public LoadedEngine engine(String model, String[] gpus, EngineSettings settings, Configuration hadoopConf) {
    DeviceChoice.Choice choice = DeviceChoice.choose(gpus, settings.backend());
    EngineKey key = new EngineKey(model, choice.key(), choice.engineDevice(), settings.engineOptions());
    return engines.computeIfAbsent(key, k -> load(k, settings, hadoopConf));
  }

  private static LoadedEngine load(EngineKey key, EngineSettings settings, Configuration hadoopConf) {
    Path dir = ModelLocator.localize(key.model(), settings.modelCacheDir(), hadoopConf);
    long start = System.nanoTime();
    Engine engine = Engine.open(dir, key.options(), key.engineDevice());
    LOG.info(
        String.format(
            "spark-llm: loaded model %s from %s on the %s backend (device %s) in %d ms",
            key.model(), dir, engine.backend().name(), key.device(), (System.nanoTime() - start) / 1_000_000));
    return new LoadedEngine(engine, GenerationConfig.read(dir));
  }

  /** The devices of the engines open now: "cpu" or "gpu:<address>" (what Spark assigned). */
  public Set<String> openDevices() {
    Set<String> devices = new TreeSet<>();
    engines.keySet().forEach(key -> devices.add(key.device()));
    return devices;
  }

  /** Number of engines open now. */
  public int size() {
    return engines.size();
  }

  /** Closes every engine; requests still running fail with EngineFailedException. */
  public synchronized void closeAll() {
    List<EngineKey> keys = new ArrayList<>(engines.keySet());
    for (EngineKey key : keys) {
      LoadedEngine loaded = engines.remove(key);
      if (loaded == null) {
        continue;
      }
      try {
        loaded.engine().close();
        LOG.info("spark-llm: closed the engine of " + key.model() + " on " + key.device());
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "spark-llm: closing the engine of " + key.model() + " failed", e);
      }
    }
  }
}
