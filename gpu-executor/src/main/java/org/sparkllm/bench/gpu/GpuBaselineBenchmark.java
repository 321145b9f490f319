package org.sparkllm.bench.gpu;

import static org.sparkllm.bench.gpu.BenchCli.log;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.sparkllm.backend.cuda.CudaBackend;
import org.sparkllm.backend.cuda.CudaBackendOptions;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.engine.Engine;
import org.sparkllm.engine.EngineOptions;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.safetensors.ModelTensors;

/**
 * The CUDA-graph backend on one GPU, in one run: the ceilings (device copy bandwidth, cuBLAS bf16
 * matmul), decode step time at several batch sizes with the achieved bandwidth at batch 1, prefill
 * rate at 2K tokens, and offline throughput through the engine; optionally merged with the Hugging
 * Face peer's JSON (scripts/hf_peer.py) and the Spark job's ratio. Writes NAME.json and NAME.md.
 *
 * <pre>
 * java -cp ... org.sparkllm.bench.gpu.GpuBaselineBenchmark [--model DIR | --models-dir DIR]
 *     [--out-dir docs/perf] [--name gpu-baseline] [--hf-peer FILE] [--spark FILE]
 *     [--prompts 2048] [--input-len 256] [--output-len 256] [--batches 1,8,64,256]
 * </pre>
 */
public final class GpuBaselineBenchmark {
  private GpuBaselineBenchmark() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> o = BenchCli.parse(args);
    Path model = BenchCli.model(o);
    Path outDir = Path.of(o.getOrDefault("out-dir", "docs/perf"));
    String name = o.getOrDefault("name", "gpu-baseline");
    int prompts = Integer.parseInt(o.getOrDefault("prompts", "2048"));
    int inputLen = Integer.parseInt(o.getOrDefault("input-len", "256"));
    int outputLen = Integer.parseInt(o.getOrDefault("output-len", "256"));
    List<Integer> batches = BenchCli.ints(o.getOrDefault("batches", "1,8,64,256"));

    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode report = json.createObjectNode();
    LlamaConfig config = LlamaConfig.read(model);
    report.put("checkpoint", model.getFileName().toString());

    // Ceilings first, in the same process, on the same device.
    try (CudaContext context = CudaContext.openPrimary(0)) {
      report.put("gpu", context.deviceName());
      double copy = CopyBandwidth.measure(context, 1L << 30, 20);
      report.put("copy_gbs", copy);
      log("copy bandwidth %.0f GB/s (read + write)", copy);
      CublasMatmul.Status cublas = CublasMatmul.status();
      if (cublas.available()) {
        double rate = CublasMatmul.measure(context, 8192, 8192, 8192, 20);
        report.put("matmul_tflops", rate);
        report.put("matmul_source", "cuBLAS " + cublas.version() + " cublasGemmEx bf16 8192^3");
        log("cuBLAS bf16 8192^3: %.0f TFLOP/s (%s)", rate, cublas.library());
      } else {
        report.put("matmul_source", "unavailable: " + cublas.reason());
        log("cuBLAS unavailable: %s", cublas.reason());
      }
    }

    CudaBackendOptions backendOptions = new CudaBackendOptions(0, 256, 8192, 4096, 0.9, true);
    double copy = report.get("copy_gbs").asDouble();
    try (ModelTensors tensors = ModelTensors.open(model);
        CudaBackend backend = CudaBackend.load(config, tensors, backendOptions)) {
      report.put("weight_bytes", backend.weightBytes());
      ObjectNode decode = report.putObject("decode");
      for (int batch : batches) {
        DecodeLatency.Result r = DecodeLatency.measure(backend, batch, 512, 20, 100, 42);
        ObjectNode n = decode.putObject("batch" + batch);
        n.put("context", r.context());
        n.put("us_per_step", r.medianMicros());
        n.put("us_per_step_p90", r.p90Micros());
        n.put("tokens_per_s", batch / (r.medianMicros() / 1e6));
        log("decode batch %d at %d tokens: %.1f us/step (p90 %.1f)", batch, r.context(), r.medianMicros(),
            r.p90Micros());
        if (batch == 1) {
          long bytes = backend.weightBytes() + ModelFlops.kvBytesRead(config, r.context());
          double achieved = bytes / (r.medianMicros() / 1e6) / 1e9;
          report.put("batch1_us_per_token", r.medianMicros());
          report.put("batch1_bytes_per_step", bytes);
          report.put("batch1_achieved_gbs", achieved);
          report.put("batch1_bw_fraction", achieved / copy);
          report.put("batch1_floor_us", bytes / (copy * 1e9) * 1e6);
        }
      }
      PrefillRate.Result p = PrefillRate.measure(backend, 2048, 2, 5, 7);
      report.put("prefill_tokens", p.tokens());
      report.put("prefill_ms", p.medianMillis());
      report.put("prefill_tokens_per_s", p.tokensPerSecond());
      report.put("prefill_tflops", p.tflops());
      if (report.has("matmul_tflops")) {
        report.put("prefill_matmul_fraction", p.tflops() / report.get("matmul_tflops").asDouble());
      }
      log("prefill %d tokens: %.2f ms, %.0f tokens/s, %.0f TFLOP/s", p.tokens(), p.medianMillis(),
          p.tokensPerSecond(), p.tflops());
    }

    if (prompts > 0) {
      EngineOptions engineOptions = EngineOptions.defaults().withMaxSequences(256).withMaxBatchTokens(8192)
          .withMaxContextTokens(inputLen + outputLen + 16);
      try (Engine engine = Engine.open(model, engineOptions, "cuda:0")) {
        OfflineThroughput.measure(engine, Math.min(prompts, 256), inputLen, 16, 1); // warm-up: graphs captured
        OfflineThroughput.Result r = OfflineThroughput.measure(engine, prompts, inputLen, outputLen, 2);
        report.put("offline_prompts", r.prompts());
        report.put("offline_input_len", r.inputLen());
        report.put("offline_output_len", r.outputLen());
        report.put("offline_seconds", r.seconds());
        report.put("offline_tokens_per_s", r.outputTokensPerSecond());
        report.put("offline_total_tokens_per_s", r.totalTokensPerSecond());
        report.put("offline_steps", r.steps());
        report.put("offline_ms_per_step", r.msPerStep());
        report.put("offline_host_ms_per_step", r.hostMsPerStep());
        log("offline %d x (%d in, %d out): %.1f s, %.0f output tokens/s, %d steps of %.2f ms (host %.2f ms)",
            r.prompts(), r.inputLen(), r.outputLen(), r.seconds(), r.outputTokensPerSecond(), r.steps(),
            r.msPerStep(), r.hostMsPerStep());
      }
    }

    if (o.containsKey("hf-peer")) {
      JsonNode hf = json.readTree(Path.of(o.get("hf-peer")).toFile());
      report.set("hf_peer", hf);
      mergePeer(report, hf, "compiled", "hf_compiled");
      mergePeer(report, hf, "eager", "hf_eager");
    }
    if (o.containsKey("spark")) {
      JsonNode spark = json.readTree(Path.of(o.get("spark")).toFile());
      report.set("spark", spark);
      if (spark.has("spark_to_engine_ratio")) {
        report.put("spark_to_engine_ratio", spark.get("spark_to_engine_ratio").asDouble());
      }
    }

    Files.createDirectories(outDir);
    json.writeValue(outDir.resolve(name + ".json").toFile(), report);
    String table = GpuBaselineReport.markdown(report);
    Files.writeString(outDir.resolve(name + ".md"), table);
    System.out.println(table);
  }

  /** Copies the peer's batch-1 latency and offline throughput for one mode, and our ratio to it. */
  private static void mergePeer(ObjectNode report, JsonNode hf, String mode, String prefix) {
    JsonNode m = hf.path("modes").path(mode);
    if (m.isMissingNode()) {
      m = hf.path(mode);
    }
    if (m.has("batch1_us_per_token")) {
      report.put(prefix + "_batch1_us_per_token", m.get("batch1_us_per_token").asDouble());
    }
    if (m.has("offline_tokens_per_s")) {
      double peer = m.get("offline_tokens_per_s").asDouble();
      report.put(prefix + "_offline_tokens_per_s", peer);
      if (report.has("offline_tokens_per_s")) {
        report.put("offline_over_" + prefix, report.get("offline_tokens_per_s").asDouble() / peer);
      }
    }
  }
}
