package org.sparkllm.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.cpu.CpuBackend;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.safetensors.ModelTensors;

/**
 * Decode throughput of the CPU backend: B sequences are prefilled with a short random prompt, then
 * timed over decode steps of one token each; reports the median step time and tokens per second.
 *
 * <pre>
 * java -cp ... org.sparkllm.bench.CpuDecodeBenchmark --model DIR [--batch 1,8] [--steps 8]
 *     [--prompt 16] [--threads N] [--json FILE]
 * </pre>
 */
public final class CpuDecodeBenchmark {
  private CpuDecodeBenchmark() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> options = parse(args);
    Path model = Path.of(required(options, "model"));
    int[] batches =
        Arrays.stream(options.getOrDefault("batch", "1,8").split(",")).mapToInt(Integer::parseInt).toArray();
    int steps = Integer.parseInt(options.getOrDefault("steps", "8"));
    int prompt = Integer.parseInt(options.getOrDefault("prompt", "16"));
    int threads =
        Integer.parseInt(options.getOrDefault("threads", "" + Runtime.getRuntime().availableProcessors()));

    LlamaConfig config = LlamaConfig.read(model);
    int maxBatch = Arrays.stream(batches).max().orElse(1);
    long loadStart = System.nanoTime();
    CpuBackend backend;
    try (ModelTensors tensors = ModelTensors.open(model)) {
      backend = CpuBackend.load(config, tensors, maxBatch, maxBatch * (prompt + steps + 1 + 16), 16, threads);
    }
    double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
    double readGbs = readBandwidthGbs(threads);
    double weightBytes = 4.0 * parameters(config); // float32 in the CPU backend

    List<Map<String, Object>> rows = new ArrayList<>();
    try (backend) {
      for (int batch : batches) {
        Map<String, Object> row = measure(backend, config, batch, prompt, steps);
        double floorMs = weightBytes / (readGbs * 1e9) * 1e3;
        row.put("floor_step_ms", floorMs);
        row.put("fraction_of_floor", floorMs / (double) row.get("median_step_ms"));
        rows.add(row);
      }
    }
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("model", model.getFileName().toString());
    report.put("parameters", parameters(config));
    report.put("threads", threads);
    report.put("cpus", Runtime.getRuntime().availableProcessors());
    report.put("cpu_model", cpuModel());
    report.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    report.put("load_seconds", loadSeconds);
    report.put("read_bandwidth_gbs", readGbs);
    report.put("weight_bytes_per_step", (long) weightBytes);
    report.put("results", rows);
    String json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report);
    System.out.println(json);
    if (options.containsKey("json")) {
      Files.writeString(Path.of(options.get("json")), json + "\n");
    }
  }

  private static Map<String, Object> measure(
      CpuBackend backend, LlamaConfig config, int batch, int prompt, int steps) {
    SplittableRandom random = new SplittableRandom(batch);
    int[] slots = new int[batch];
    List<ForwardBatch.Chunk> prefill = new ArrayList<>();
    for (int b = 0; b < batch; b++) {
      slots[b] = backend.kvCache().acquireSlot();
      backend.kvCache().ensureCapacity(slots[b], prompt + steps + 1);
      prefill.add(new ForwardBatch.Chunk(slots[b], 0, random.ints(prompt, 0, config.vocabSize()).toArray(), true));
    }
    backend.forward(new ForwardBatch(prefill));
    double[] stepMillis = new double[steps];
    for (int s = 0; s < steps; s++) {
      List<ForwardBatch.Chunk> decode = new ArrayList<>();
      for (int b = 0; b < batch; b++) {
        decode.add(new ForwardBatch.Chunk(slots[b], prompt + s, new int[] {random.nextInt(config.vocabSize())}, true));
      }
      long start = System.nanoTime();
      backend.forward(new ForwardBatch(decode));
      stepMillis[s] = (System.nanoTime() - start) / 1e6;
    }
    for (int slot : slots) {
      backend.kvCache().releaseSlot(slot);
    }
    double median = median(stepMillis);
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("batch", batch);
    row.put("prompt_tokens", prompt);
    row.put("decode_steps", steps);
    row.put("median_step_ms", median);
    row.put("decode_tokens_per_s", batch * 1000.0 / median);
    System.err.printf(Locale.ROOT, "batch %d: median step %.2f ms, %.1f tokens/s%n", batch, median, batch * 1000.0 / median);
    return row;
  }

  /**
   * The ceiling for a memory-bound decode step: how fast {@code threads} threads can stream a 1 GiB
   * float array (summing it, as a matrix-vector product reads its weights). Median of 5 passes.
   */
  private static double readBandwidthGbs(int threads) {
    float[] data = new float[1 << 28];
    Arrays.fill(data, 1f);
    java.util.concurrent.ForkJoinPool pool = new java.util.concurrent.ForkJoinPool(threads);
    double[] seconds = new double[5];
    int parts = threads * 8;
    int partLength = data.length / parts;
    for (int pass = 0; pass < seconds.length; pass++) {
      long start = System.nanoTime();
      double total =
          pool.submit(
                  () ->
                      java.util.stream.IntStream.range(0, parts)
                          .parallel()
                          .mapToDouble(p -> sum(data, p * partLength, partLength))
                          .sum())
              .join();
      seconds[pass] = (System.nanoTime() - start) / 1e9;
      if (total != data.length) {
        throw new IllegalStateException("bandwidth probe summed " + total);
      }
    }
    pool.shutdown();
    return 4.0 * data.length / median(seconds) / 1e9;
  }

  private static float sum(float[] a, int from, int length) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int end = from + length;
    for (int i = from; i < end; i += 4) {
      s0 += a[i];
      s1 += a[i + 1];
      s2 += a[i + 2];
      s3 += a[i + 3];
    }
    return (s0 + s1) + (s2 + s3);
  }

  private static long parameters(LlamaConfig c) {
    long h = c.hiddenSize();
    long perLayer = 2 * h + h * c.qDim() + 2 * h * c.kvDim() + c.qDim() * h + 3 * h * c.intermediateSize();
    long embeddings = (long) c.vocabSize() * h * (c.tieWordEmbeddings() ? 1 : 2);
    return perLayer * c.numLayers() + embeddings + h;
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  private static String cpuModel() {
    try {
      return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
          .filter(l -> l.startsWith("model name"))
          .map(l -> l.substring(l.indexOf(':') + 1).trim())
          .findFirst()
          .orElse("unknown");
    } catch (Exception e) {
      return "unknown";
    }
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> options = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 == args.length) {
        throw new IllegalArgumentException("expected --name value pairs, got " + String.join(" ", args));
      }
      options.put(args[i].substring(2), args[++i]);
    }
    return options;
  }

  private static String required(Map<String, String> options, String name) {
    String value = options.get(name);
    if (value == null) {
      throw new IllegalArgumentException("--" + name + " is required");
    }
    return value;
  }
}
