package org.sparkllm.bench.gpu;

import static org.sparkllm.bench.gpu.BenchCli.log;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.cuda.CudaBackendOptions;
import org.sparkllm.backend.megakernel.InstructionTimings;
import org.sparkllm.backend.megakernel.MegakernelBackend;
import org.sparkllm.backend.megakernel.MegakernelOptions;
import org.sparkllm.backend.megakernel.Opcode;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.engine.Engine;
import org.sparkllm.engine.EngineOptions;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.safetensors.ModelTensors;

/**
 * The megakernel against the CUDA-graph path on one GPU, in one run: the copy-bandwidth ceiling; decode step time
 * at several batch sizes on both paths (one backend, so the same weights and KV cache); the per-instruction-type
 * time breakdown from the kernel's timestamps (a second load with timing on, since timing costs a download per
 * step); offline throughput through the engine on {@code cuda:0} and {@code megakernel:0}. Writes NAME.json and
 * NAME.md.
 *
 * <pre>
 * java -cp ... org.sparkllm.bench.gpu.MegakernelBenchmark [--model DIR | --models-dir DIR]
 *     [--out-dir docs/perf] [--name megakernel] [--batches 1,8,64,256] [--context 512]
 *     [--prompts 2048] [--input-len 256] [--output-len 256] [--breakdown-batches 1] [--launch-ahead-after 16]
 *     [--l2-prefetch-pages 16] [--pages-in-flight 2] [--offline-max-rows 256]
 * </pre>
 * {@code --launch-ahead-after} sets {@link MegakernelOptions#launchAheadAfter()} (0: never),
 * {@code --l2-prefetch-pages} {@link MegakernelOptions#l2PrefetchPages()} (0: never) and
 * {@code --pages-in-flight} {@link MegakernelOptions#pagesInFlight()}, for comparisons;
 * {@code --offline-max-rows} the offline engine's {@link MegakernelOptions#maxRows()} (default: every bucket; 16 is
 * what an engine gets by default, larger steps then running on the graph path).
 */
public final class MegakernelBenchmark {
  /**
   * Steps before the timed ones: enough for the JIT to compile the host's share of a step. After 20 steps a
   * batch-1 megakernel step still spent ~85 µs outside its launch, after 500 ~43 µs (H100).
   */
  private static final int WARMUP_STEPS = 500;
  private static final int TIMED_STEPS = 100;
  /** The benchmark measures the megakernel at every batch it is built for, whatever the default row limit. */
  private static final MegakernelOptions ALL_BUCKETS =
      MegakernelOptions.defaults().withMaxRows(MegakernelOptions.MAX_ROWS);

  private MegakernelBenchmark() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> o = BenchCli.parse(args);
    Path model = BenchCli.model(o);
    Path outDir = Path.of(o.getOrDefault("out-dir", "docs/perf"));
    String name = o.getOrDefault("name", "megakernel");
    List<Integer> batches = BenchCli.ints(o.getOrDefault("batches", "1,8,64,256"));
    int context = Integer.parseInt(o.getOrDefault("context", "512"));
    int prompts = Integer.parseInt(o.getOrDefault("prompts", "2048"));
    int inputLen = Integer.parseInt(o.getOrDefault("input-len", "256"));
    int outputLen = Integer.parseInt(o.getOrDefault("output-len", "256"));
    List<Integer> breakdownBatches = BenchCli.ints(o.getOrDefault("breakdown-batches", "1"));
    MegakernelOptions megakernel = ALL_BUCKETS
        .withLaunchAheadAfter(Integer.parseInt(o.getOrDefault("launch-ahead-after",
            String.valueOf(MegakernelOptions.DEFAULT_LAUNCH_AHEAD_AFTER))))
        .withL2PrefetchPages(Integer.parseInt(o.getOrDefault("l2-prefetch-pages",
            String.valueOf(MegakernelOptions.DEFAULT_L2_PREFETCH_PAGES))))
        .withPagesInFlight(Integer.parseInt(o.getOrDefault("pages-in-flight",
            String.valueOf(MegakernelOptions.DEFAULT_PAGES_IN_FLIGHT))));

    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode report = json.createObjectNode();
    LlamaConfig config = LlamaConfig.read(model);
    report.put("checkpoint", model.getFileName().toString());
    report.put("launch_ahead_after", megakernel.launchAheadAfter());
    report.put("l2_prefetch_pages", megakernel.l2PrefetchPages());
    report.put("pages_in_flight", megakernel.pagesInFlight());
    try (CudaContext device = CudaContext.openPrimary(0)) {
      report.put("gpu", device.deviceName());
      double copy = CopyBandwidth.measure(device, CopyBandwidth.DEFAULT_BYTES, CopyBandwidth.DEFAULT_ITERATIONS);
      report.put("copy_gbs", copy);
      log("copy bandwidth %.0f GB/s (read + write)", copy);
    }

    CudaBackendOptions cudaOptions = new CudaBackendOptions(0, 256, 8192, 4096, 0.9, true);
    try (ModelTensors tensors = ModelTensors.open(model)) {
      decodeSteps(report, config, tensors, cudaOptions, megakernel, batches, context);
      for (int batch : breakdownBatches) {
        breakdown(report, config, tensors, cudaOptions, megakernel, batch, context);
      }
    }
    if (prompts > 0) {
      MegakernelOptions offlineOptions = megakernel.withMaxRows(
          Integer.parseInt(o.getOrDefault("offline-max-rows", String.valueOf(MegakernelOptions.MAX_ROWS))));
      report.put("offline_megakernel_max_rows", offlineOptions.maxRows());
      for (String device : List.of("cuda:0", "megakernel:0")) {
        offline(report, model, device, offlineOptions, prompts, inputLen, outputLen);
      }
      report.put("offline_megakernel_over_graph",
          report.get("offline_tokens_per_s_megakernel").asDouble() / report.get("offline_tokens_per_s_graph").asDouble());
      report.put("offline_staggered_megakernel_over_graph",
          report.get("offline_staggered_tokens_per_s_megakernel").asDouble()
              / report.get("offline_staggered_tokens_per_s_graph").asDouble());
    }

    Files.createDirectories(outDir);
    json.writeValue(outDir.resolve(name + ".json").toFile(), report);
    String table = MegakernelReport.markdown(report);
    Files.writeString(outDir.resolve(name + ".md"), table);
    System.out.println(table);
  }

  /** Decode step time per batch size on the graph path and the megakernel, same backend, same contexts. */
  private static void decodeSteps(ObjectNode report, LlamaConfig config, ModelTensors tensors,
      CudaBackendOptions cudaOptions, MegakernelOptions megakernel, List<Integer> batches, int context) {
    try (MegakernelBackend mk = MegakernelBackend.load(config, tensors, cudaOptions, megakernel)) {
      report.put("weight_bytes", mk.cuda().weightBytes());
      ObjectNode decode = report.putObject("decode");
      for (int batch : batches) {
        DecodeLatency.Result graph = DecodeLatency.measure(mk.cuda(), batch, context, WARMUP_STEPS, TIMED_STEPS, 42);
        MegakernelBackend.LaunchesAhead before = mk.launchesAhead();
        DecodeLatency.Result mega =
            DecodeLatency.measure(mk, batch, context, WARMUP_STEPS, TIMED_STEPS, 42, mk::lastKernelMicros);
        MegakernelBackend.LaunchesAhead after = mk.launchesAhead();
        ObjectNode n = decode.putObject("batch" + batch);
        n.put("context", context);
        n.put("on_megakernel", mk.runsOnMegakernel(decodeBatch(batch)));
        n.put("graph_us_per_step", graph.medianMicros());
        n.put("megakernel_us_per_step", mega.medianMicros());
        n.put("megakernel_us_per_step_p90", mega.p90Micros());
        n.put("graph_us_per_step_wall", graph.wallMicrosPerStep());
        n.put("megakernel_us_per_step_wall", mega.wallMicrosPerStep());
        n.put("megakernel_kernel_us", mega.medianDeviceMicros());
        n.put("steps_launched_ahead", after.launched() - before.launched());
        n.put("steps_launched_ahead_used", after.used() - before.used());
        n.put("speedup", graph.medianMicros() / mega.medianMicros());
        log("decode batch %d at %d tokens: graph %.1f us, megakernel %.1f us (kernel %.1f us) (x%.2f); wall time per"
            + " step: graph %.1f us, megakernel %.1f us", batch, context, graph.medianMicros(), mega.medianMicros(),
            mega.medianDeviceMicros(), graph.medianMicros() / mega.medianMicros(), graph.wallMicrosPerStep(),
            mega.wallMicrosPerStep());
        if (batch == 1) {
          long bytes = mk.cuda().weightBytes() + ModelFlops.kvBytesRead(config, context);
          double copy = report.get("copy_gbs").asDouble();
          // Per token: the timed steps' wall time over their count (what a caller gets, host work between
          // steps included), not the median call, which a step launched ahead makes shorter.
          report.put("batch1_us_per_token_megakernel", mega.wallMicrosPerStep());
          report.put("batch1_us_per_token_graph", graph.wallMicrosPerStep());
          report.put("batch1_speedup", graph.wallMicrosPerStep() / mega.wallMicrosPerStep());
          report.put("batch1_floor_us", bytes / (copy * 1e9) * 1e6);
          report.put("batch1_bw_fraction", bytes / (mega.wallMicrosPerStep() / 1e6) / 1e9 / copy);
          report.put("batch1_kernel_us_megakernel", mega.medianDeviceMicros());
          report.put("batch1_kernel_bw_fraction", bytes / (mega.medianDeviceMicros() / 1e6) / 1e9 / copy);
        }
      }
      if (decode.has("batch1") && decode.has("batch64")) {
        report.put("batch64_over_batch1", decode.get("batch64").get("megakernel_us_per_step").asDouble()
            / decode.get("batch1").get("megakernel_us_per_step").asDouble());
      }
    }
  }

  /** A decode step of {@code rows} sequences (slot and position do not matter to the routing). */
  private static ForwardBatch decodeBatch(int rows) {
    List<ForwardBatch.Chunk> chunks = new ArrayList<>();
    for (int r = 0; r < rows; r++) {
      chunks.add(new ForwardBatch.Chunk(r, 1, new int[] {0}, true));
    }
    return new ForwardBatch(chunks);
  }

  /** Steps with the kernel's timestamps on: per opcode, µs per instruction in each phase. */
  private static void breakdown(ObjectNode report, LlamaConfig config, ModelTensors tensors,
      CudaBackendOptions cudaOptions, MegakernelOptions megakernel, int batch, int context) {
    try (MegakernelBackend mk = MegakernelBackend.load(config, tensors, cudaOptions, megakernel.withTiming(true))) {
      DecodeLatency.Result timed = DecodeLatency.measure(mk, batch, context, 5, 50, 43);
      InstructionTimings timings = mk.timings();
      ObjectNode b = report.putObject("breakdown_batch" + batch);
      b.put("steps", timings.steps());
      b.put("us_per_step_with_timing", timed.medianMicros());
      for (Map.Entry<Opcode, InstructionTimings.Totals> e : timings.perOpcode().entrySet()) {
        InstructionTimings.Totals t = e.getValue();
        ObjectNode n = b.putObject(e.getKey().name());
        n.put("instructions_per_step", (double) t.instructions() / timings.steps());
        n.put("dependency_wait_us", t.waitMicros() / t.instructions());
        n.put("staging_us", t.stageMicros() / t.instructions());
        n.put("page_wait_us", t.pageWaitMicros() / t.instructions());
        n.put("compute_us", t.computeMicros() / t.instructions());
        n.put("epilogue_us", t.epilogueMicros() / t.instructions());
        n.put("barrier_signal_us", t.signalMicros() / t.instructions());
        n.put("ring_full_us", t.ringFullMicros() / t.instructions());
      }
      log("breakdown at batch %d:%n%s", batch, timings);
    }
  }

  private static void offline(ObjectNode report, Path model, String device, MegakernelOptions megakernel,
      int prompts, int inputLen, int outputLen) {
    EngineOptions options = EngineOptions.defaults().withMaxSequences(256).withMaxBatchTokens(8192)
        .withMaxContextTokens(inputLen + outputLen + 16);
    String key = device.startsWith("megakernel") ? "megakernel" : "graph";
    try (Engine engine = Engine.open(model, options, device, megakernel)) {
      OfflineThroughput.measure(engine, Math.min(prompts, 256), inputLen, 16, 1); // warm-up
      OfflineThroughput.Result r = OfflineThroughput.measure(engine, prompts, inputLen, outputLen, 2);
      report.put("offline_tokens_per_s_" + key, r.outputTokensPerSecond());
      report.put("offline_ms_per_step_" + key, r.msPerStep());
      report.put("offline_host_ms_per_step_" + key, r.hostMsPerStep());
      log("offline on %s: %d x (%d in, %d out): %.1f s, %.0f output tokens/s", device, r.prompts(), r.inputLen(),
          r.outputLen(), r.seconds(), r.outputTokensPerSecond());
    }
    // Staggered output lengths reach 2 * outputLen - 1: an engine whose contexts hold them.
    try (Engine engine = Engine.open(model, options.withMaxContextTokens(inputLen + 2 * outputLen + 16), device,
        megakernel)) {
      OfflineThroughput.measure(engine, Math.min(prompts, 256), inputLen, 16, 1); // warm-up
      OfflineThroughput.Result s = OfflineThroughput.measure(engine, prompts, inputLen, outputLen, 3, true);
      report.put("offline_staggered_tokens_per_s_" + key, s.outputTokensPerSecond());
      log("offline on %s, staggered output lengths: %.1f s, %.0f output tokens/s", device, s.seconds(),
          s.outputTokensPerSecond());
    }
    report.put("offline_prompts", prompts);
    report.put("offline_input_len", inputLen);
    report.put("offline_output_len", outputLen);
  }
}
