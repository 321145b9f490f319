package org.sparkllm.examples.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.sparkllm.checkpoint.CheckpointWriter;
import org.sparkllm.checkpoint.ModelShape;
import org.sparkllm.spark.LlmOptions;
import org.sparkllm.tokenizer.Tokenizer;

/**
 * Issue 5's end-to-end check: the same prompts through llm_generate in a local Spark session and
 * through the bare engine, in one JVM, one after the other on the same device; reports both output
 * token rates and {@code spark_to_engine_ratio} (Spark over engine), after checking that both sides
 * returned the same rows and token totals (else the run fails). Writes JSON and prints a one-line
 * summary.
 *
 * <pre>
 * SparkToEngineRatio [--model DIR] [--backend cuda|cpu] [--prompts 1000] [--prompt-words 80]
 *     [--max-tokens 256] [--warmup-tokens 16] [--repeats 3] [--master local[*]] [--partitions N]
 *     [--max-sequences 256] [--max-batch-tokens 8192] [--out spark-to-engine.json]
 * </pre>
 *
 * Without {@code --model} it writes the tiny random-weight model under {@code models/} (a CPU check).
 * With the generated checkpoints' tokenizer, 80 words make about 255 prompt tokens.
 * {@code --partitions} defaults to the processor count, so in {@code local[*]} every task runs at
 * once and, as on the engine side, every prompt is in the engine from the start.
 */
public final class SparkToEngineRatio {
  private static final Map<String, String> DEFAULTS = Map.ofEntries(
      Map.entry("backend", "cuda"),
      Map.entry("prompts", "1000"),
      Map.entry("prompt-words", "80"),
      Map.entry("max-tokens", "256"),
      Map.entry("warmup-tokens", "16"),
      Map.entry("repeats", "3"),
      Map.entry("master", "local[*]"),
      Map.entry("partitions", Integer.toString(Runtime.getRuntime().availableProcessors())),
      Map.entry("max-sequences", "256"),
      Map.entry("max-batch-tokens", "8192"),
      Map.entry("out", "spark-to-engine.json"));

  private SparkToEngineRatio() {}

  public static void main(String[] args) throws IOException {
    Map<String, String> o = parse(args);
    String backend = o.get("backend");
    if (!backend.equals("cuda") && !backend.equals("cpu")) {
      throw new IllegalArgumentException("--backend must be cuda or cpu, got " + backend);
    }
    Path model = (o.containsKey("model")
        ? Path.of(o.get("model"))
        : CheckpointWriter.ensure(ModelShape.TINY, Path.of("models"))).toAbsolutePath();
    int maxTokens = Integer.parseInt(o.get("max-tokens"));
    int partitions = Integer.parseInt(o.get("partitions"));
    int repeats = Integer.parseInt(o.get("repeats"));
    List<String> prompts =
        BenchmarkPrompts.generate(Integer.parseInt(o.get("prompts")), Integer.parseInt(o.get("prompt-words")), 5);
    int longestPrompt = longestPromptTokens(model, prompts);

    Map<String, String> settings = new TreeMap<>();
    settings.put("spark.llm.model", model.toString());
    settings.put("spark.llm.backend", backend);
    settings.put("spark.llm.engine.maxSequences", o.get("max-sequences"));
    settings.put("spark.llm.engine.maxBatchTokens", o.get("max-batch-tokens"));
    // Room for the longest prompt and its completion, and no more: the CUDA backend sizes per-slot
    // buffers from it.
    settings.put("spark.llm.engine.maxContextTokens", Integer.toString(longestPrompt + maxTokens));
    // A task never waits for room in the engine, as the bare engine gets every prompt at once.
    settings.put("spark.llm.maxInFlight", Integer.toString(prompts.size()));
    Workload workload =
        new Workload(model, prompts, maxTokens, Integer.parseInt(o.get("warmup-tokens")), Map.copyOf(settings));

    log("bare engine on %s: %d prompts (longest %d tokens) x %d tokens, %d timed passes", workload.engineDevice(),
        prompts.size(), longestPrompt, maxTokens, repeats);
    Throughput engine = EngineRun.measure(workload, repeats);
    log("Spark %s, %d partitions", o.get("master"), partitions);
    Throughput spark = SparkRun.measure(workload, o.get("master"), partitions, repeats);

    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode report = json.createObjectNode();
    report.put("backend", backend);
    report.put("checkpoint", model.getFileName().toString());
    report.put("master", o.get("master"));
    report.put("partitions", partitions);
    report.put("prompts", prompts.size());
    report.put("prompt_tokens_mean", (double) engine.totals().promptTokens() / prompts.size());
    report.put("max_tokens", maxTokens);
    report.put("warmup_tokens", workload.warmupTokens());
    settings.forEach(report.putObject("settings")::put);
    engine.writeTo(report.putObject("engine"));
    spark.writeTo(report.putObject("spark"));
    double ratio = spark.outputTokensPerSecond() / engine.outputTokensPerSecond();
    // Written either way, so a failed run still leaves both sides' numbers to look at; the ratio only
    // when both sides did the same work (GpuBaselineBenchmark --spark merges it when present).
    String different = differentWork(workload, engine.totals(), spark.totals());
    if (different == null) {
      report.put("spark_to_engine_ratio", ratio);
    } else {
      report.put("error", different);
    }
    Path out = Path.of(o.get("out"));
    if (out.toAbsolutePath().getParent() != null) {
      Files.createDirectories(out.toAbsolutePath().getParent());
    }
    json.writeValue(out.toFile(), report);
    if (different != null) {
      throw new IllegalStateException(different);
    }
    System.out.printf(Locale.ROOT,
        "spark-to-engine (%s, %d prompts x %d tokens): Spark %.0f tokens/s (%.2f s), engine %.0f tokens/s "
            + "(%.2f s), ratio %.3f -> %s%n",
        backend, prompts.size(), maxTokens, spark.outputTokensPerSecond(), spark.medianSeconds(),
        engine.outputTokensPerSecond(), engine.medianSeconds(), ratio, out);
  }

  /**
   * Null when both sides answered every prompt with the same prompt and output token totals, the
   * output being every row's max_tokens; else what differs.
   */
  static String differentWork(Workload workload, Pass engine, Pass spark) {
    if (engine.rows() != workload.prompts().size() || spark.rows() != engine.rows()
        || spark.promptTokens() != engine.promptTokens() || spark.outputTokens() != engine.outputTokens()
        || engine.outputTokens() != workload.expectedOutputTokens()) {
      return String.format(Locale.ROOT,
          "the two sides did different work: engine %s, Spark %s, expected %d rows and %d output tokens",
          engine, spark, workload.prompts().size(), workload.expectedOutputTokens());
    }
    return null;
  }

  private static int longestPromptTokens(Path model, List<String> prompts) {
    try (Tokenizer tokenizer = Tokenizer.load(model)) {
      return prompts.stream().mapToInt(p -> tokenizer.encode(p, true).length).max().orElse(0);
    }
  }

  private static void log(String format, Object... args) {
    System.err.println(String.format(Locale.ROOT, format, args));
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> options = new HashMap<>(DEFAULTS);
    for (int i = 0; i < args.length; i += 2) {
      String name = args[i].startsWith("--") ? args[i].substring(2) : "";
      if (!(DEFAULTS.containsKey(name) || name.equals("model")) || i + 1 >= args.length) {
        throw new IllegalArgumentException("expected --name value pairs with names " + DEFAULTS.keySet()
            + " or model, got " + String.join(" ", args));
      }
      options.put(name, args[i + 1]);
    }
    return options;
  }
}
