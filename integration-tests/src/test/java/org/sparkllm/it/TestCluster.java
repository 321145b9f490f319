package org.sparkllm.it;

import java.nio.file.Path;
import java.time.Duration;
import org.apache.spark.sql.SparkSession;

/**
 * One Spark cluster shared by every test in the JVM (a JVM holds one SparkContext, and starting one
 * costs seconds): a driver in the test JVM, two workers, and two executor processes with one core and
 * one fake GPU each. Spark stops it in its own shutdown hook.
 */
final class TestCluster {
  static final int EXECUTORS = 2;

  static final String PLUGIN_CLASS = "org.sparkllm.spark.LlmPlugin";

  private static final Duration EXECUTOR_WAIT = Duration.ofSeconds(90);

  private static SparkSession session;

  private TestCluster() {}

  static synchronized SparkSession session() {
    if (session == null) {
      session = start();
    }
    return session;
  }

  private static SparkSession start() {
    Path gpuScript = FakeGpuDiscovery.writeScript(Path.of("target", "fake-gpus"));
    SparkSession.Builder builder =
        SparkSession.builder()
            .master("local-cluster[" + EXECUTORS + ",1,1024]")
            .appName("spark-llm integration tests")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            // Executors are launched without a Spark distribution: the testing mode takes the class
            // path from extraClassPath instead of SPARK_HOME/jars.
            .config("spark.executorEnv.SPARK_SCALA_VERSION", "2.13")
            .config("spark.executorEnv.SPARK_TESTING", "1")
            .config("spark.executor.extraClassPath", testClassPath())
            .config("spark.worker.resource.gpu.amount", "1")
            .config("spark.worker.resource.gpu.discoveryScript", gpuScript.toString())
            .config("spark.executor.resource.gpu.amount", "1")
            .config("spark.task.resource.gpu.amount", "1")
            // No spark.sql.extensions: llm_generate must come from the connector jar's
            // META-INF/services entry alone, as for a user who only adds the jar.
            .config("spark.llm.model", TinyModel.dir().toString())
            // spark.llm.backend stays auto: the fake GPUs reach the engine registry (as "gpu:N"
            // devices) and, with no CUDA backend yet, run on the CPU backend.
            // Two executors share two cores here; one engine thread each keeps them from contending.
            .config("spark.llm.engine.threads", "1");
    // A missing plugin class fails executor start-up; the harness also runs without the connector.
    if (onClassPath(PLUGIN_CLASS)) {
      builder.config("spark.plugins", PLUGIN_CLASS);
    }
    SparkSession spark = builder.getOrCreate();
    awaitExecutors(spark);
    return spark;
  }

  /** Surefire runs tests from a manifest-only jar; the real class path is in this property. */
  private static String testClassPath() {
    return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
  }

  private static boolean onClassPath(String className) {
    try {
      Class.forName(className, false, TestCluster.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }

  /** Jobs would otherwise start on whichever executor registered first. */
  private static void awaitExecutors(SparkSession spark) {
    long deadline = System.nanoTime() + EXECUTOR_WAIT.toNanos();
    // getExecutorInfos lists the driver too.
    while (spark.sparkContext().statusTracker().getExecutorInfos().length < EXECUTORS + 1) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "only " + (spark.sparkContext().statusTracker().getExecutorInfos().length - 1) + " of "
                + EXECUTORS + " executors registered within " + EXECUTOR_WAIT
                + "; see target/spark-home/work/*/*/stderr");
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }
}
