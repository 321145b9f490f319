package org.sparkllm.bench.gpu;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.sparkllm.checkpoint.CheckpointWriter;
import org.sparkllm.checkpoint.ModelShape;

/** Argument parsing and progress lines shared by the GPU benchmark command lines. */
final class BenchCli {
  private BenchCli() {}

  /** {@code --name value} pairs; anything else is an error naming the arguments. */
  static Map<String, String> parse(String[] args) {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i < args.length; i += 2) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("expected --name value pairs, got " + String.join(" ", args));
      }
      options.put(args[i].substring(2), args[i + 1]);
    }
    return options;
  }

  /** --model DIR, or the Llama-3.2-1B-shaped random checkpoint generated once under --models-dir (default models). */
  static Path model(Map<String, String> options) {
    return options.containsKey("model")
        ? Path.of(options.get("model"))
        : CheckpointWriter.ensure(ModelShape.LLAMA_3_2_1B, Path.of(options.getOrDefault("models-dir", "models")));
  }

  /** A comma-separated list of integers, e.g. the batch sizes "1,8,64,256". */
  static List<Integer> ints(String list) {
    List<Integer> values = new ArrayList<>();
    for (String v : list.split(",")) {
      values.add(Integer.parseInt(v.trim()));
    }
    return values;
  }

  /** A progress line on stderr (stdout carries the report). */
  static void log(String format, Object... args) {
    System.err.println(String.format(Locale.ROOT, format, args));
  }
}
