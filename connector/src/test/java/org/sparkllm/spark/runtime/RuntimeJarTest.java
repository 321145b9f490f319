package org.sparkllm.spark.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkllm.spark.TestSpark;

/**
 * The shaded runtime jar (built in the package phase, which runs this test after it): what it holds,
 * and that Spark with only its own jars plus this one reads through the llm data source.
 */
class RuntimeJarTest {
  /** Packages that may stay unrelocated: ours, and libraries bound to native code by name. */
  static final List<String> UNRELOCATED = List.of("org/sparkllm/", "ai/djl/", "com/sun/jna/", "jcuda/");

  /** Bundled in the runtime jar, so left off the smoke test's Spark class path. */
  static final List<String> BUNDLED =
      List.of(
          "spark-llm-", "/ai/djl/", "/net/java/dev/jna/", "/com/hubspot/", "/com/google/re2j/",
          "/ch/obermuhlner/", "/commons-net/", "/com/googlecode/", "/org/derive4j/", "/org/immutables/",
          "/jackson-datatype-jdk8/", "/org/jcuda/", "/org/junit/", "/org/opentest4j/", "/org/apiguardian/");

  @TempDir Path dir;

  static Path runtimeJar() {
    String path = System.getProperty("runtimeJar");
    // Set by the pom's package-phase execution; a plain -Dtest=... run in the test phase skips.
    assumeTrue(path != null, "runs in the package phase, after the jar is built");
    return Path.of(path);
  }

  @Test
  void holdsRelocatedLibrariesServicesAndOnlyLinuxNatives() throws IOException {
    List<String> misplaced = new ArrayList<>();
    try (JarFile jar = new JarFile(runtimeJar().toFile())) {
      jar.stream()
          .map(ZipEntry::getName)
          .filter(name -> name.endsWith(".class"))
          .filter(name -> UNRELOCATED.stream().noneMatch(name::startsWith))
          .filter(name -> !name.startsWith("org/sparkllm/shaded/"))
          .forEach(misplaced::add);
      assertEquals(List.of(), misplaced, "classes outside org/sparkllm, ai/djl, com/sun/jna, jcuda");
      for (String required :
          List.of(
              "META-INF/services/org.apache.spark.sql.sources.DataSourceRegister",
              "META-INF/services/org.apache.spark.sql.SparkSessionExtensionsProvider",
              "org/sparkllm/spark/source/LlmDataSource.class",
              "org/sparkllm/engine/Engine.class",
              "org/sparkllm/shaded/com/fasterxml/jackson/databind/ObjectMapper.class",
              "org/sparkllm/shaded/com/hubspot/jinjava/Jinjava.class",
              "ai/djl/huggingface/tokenizers/HuggingFaceTokenizer.class",
              "native/lib/linux-x86_64/cpu/libtokenizers.so")) {
        assertNotNull(jar.getEntry(required), required);
      }
      assertTrue(jar.stream().noneMatch(e -> e.getName().matches("native/lib/(osx|win|linux-aarch64).*")));
      String services =
          new String(
              jar.getInputStream(jar.getEntry("META-INF/services/org.apache.spark.sql.sources.DataSourceRegister"))
                  .readAllBytes(),
              StandardCharsets.UTF_8);
      assertTrue(services.contains("org.sparkllm.spark.source.LlmDataSource"), services);
    }
  }

  @Test
  void sparkWithOnlyTheRuntimeJarReadsThroughTheModel() throws Exception {
    Path prompts = Files.write(dir.resolve("prompts.txt"), List.of("The river runs", "Spark is"));
    List<String> classPath = new ArrayList<>();
    classPath.add(runtimeJar().toString());
    classPath.add(Path.of("target/test-classes").toAbsolutePath().toString()); // the smoke main only
    for (String entry : System.getProperty("surefire.test.class.path").split(File.pathSeparator)) {
      boolean ours = entry.endsWith("classes") || entry.endsWith("classes/");
      if (!ours && BUNDLED.stream().noneMatch(entry::contains)) {
        classPath.add(entry);
      }
    }
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx1g");
    // Spark's --add-opens list, as this JVM got it from the pom.
    for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (arg.startsWith("--add-opens") || arg.startsWith("-Djdk.reflect") || arg.startsWith("-Dio.netty")) {
        command.add(arg);
      }
    }
    command.addAll(
        List.of(
            "-cp", String.join(File.pathSeparator, classPath),
            RuntimeJarSmoke.class.getName(),
            TestSpark.tinyModel().toString(),
            prompts.toString()));
    Path log = dir.resolve("smoke.log");
    Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    boolean exited = process.waitFor(4, TimeUnit.MINUTES);
    if (!exited) {
      process.destroyForcibly();
    }
    String output = Files.readString(log);
    assertTrue(exited && process.exitValue() == 0 && output.contains("SMOKE OK"), output);
  }
}
