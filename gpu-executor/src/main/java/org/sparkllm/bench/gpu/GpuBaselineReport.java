package org.sparkllm.bench.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/** The markdown table of a GPU baseline report: ceilings, our numbers, the peers', and the ratios. */
final class GpuBaselineReport {
  private GpuBaselineReport() {}

  static String markdown(JsonNode r) {
    StringBuilder md = header("CUDA-graph backend baseline", r);
    row(md, r, "matmul_tflops", "bf16 matmul ceiling (" + r.path("matmul_source").asText() + ")", "%.0f TFLOP/s");
    row(md, r, "batch1_us_per_token", "batch-1 decode", "%.1f µs/token");
    row(md, r, "batch1_floor_us", "batch-1 floor (weights + KV bytes / copy bandwidth)", "%.1f µs");
    row(md, r, "batch1_bw_fraction", "batch-1 achieved bandwidth / copy bandwidth", "%.2f");
    row(md, r, "prefill_tflops", "prefill at 2,048 tokens", "%.0f TFLOP/s");
    row(md, r, "prefill_tokens_per_s", "prefill at 2,048 tokens", "%.0f tokens/s");
    row(md, r, "prefill_matmul_fraction", "prefill rate / matmul ceiling", "%.2f");
    row(md, r, "offline_tokens_per_s", "offline throughput (output tokens)", "%.0f tokens/s");
    row(md, r, "offline_ms_per_step", "offline: engine step (mean)", "%.2f ms");
    row(md, r, "offline_host_ms_per_step", "offline: host work per step, device idle", "%.2f ms");
    row(md, r, "hf_compiled_batch1_us_per_token", "transformers static cache + compile, batch 1", "%.1f µs/token");
    row(md, r, "hf_compiled_offline_tokens_per_s", "transformers static cache + compile, offline", "%.0f tokens/s");
    row(md, r, "offline_over_hf_compiled", "our offline / transformers compiled", "%.2fx");
    row(md, r, "hf_eager_batch1_us_per_token", "transformers eager, batch 1", "%.1f µs/token");
    row(md, r, "hf_eager_offline_tokens_per_s", "transformers eager, offline", "%.0f tokens/s");
    row(md, r, "offline_over_hf_eager", "our offline / transformers eager", "%.2fx");
    row(md, r, "spark_to_engine_ratio", "Spark llm_generate tokens/s / bare engine tokens/s", "%.3f");
    JsonNode decode = r.path("decode");
    if (decode.size() > 0) {
      md.append("\nDecode step time by batch size (context ").append(decode.elements().next().path("context").asInt())
          .append(" tokens):\n\n| batch | µs/step | p90 µs | tokens/s |\n|---|---|---|---|\n");
      for (Iterator<Map.Entry<String, JsonNode>> it = decode.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        JsonNode n = e.getValue();
        md.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.0f |%n", e.getKey().substring("batch".length()),
            n.path("us_per_step").asDouble(), n.path("us_per_step_p90").asDouble(), n.path("tokens_per_s").asDouble()));
      }
    }
    offlineWorkload(md, r);
    return md.toString();
  }

  /** Title with the GPU, the checkpoint line, and the measures table opened with the copy-bandwidth ceiling. */
  static StringBuilder header(String title, JsonNode r) {
    StringBuilder md = new StringBuilder();
    md.append("# ").append(title).append(": ").append(r.path("gpu").asText()).append("\n\n");
    md.append("Checkpoint: ").append(r.path("checkpoint").asText())
        .append(" (random bf16 weights of the real shape). All numbers from one run on one GPU.\n\n");
    md.append("| measure | value |\n|---|---|\n");
    row(md, r, "copy_gbs", "device copy bandwidth (read + write)", "%.0f GB/s");
    return md;
  }

  /** The sentence describing the offline workload, if the report has one. */
  static void offlineWorkload(StringBuilder md, JsonNode r) {
    if (r.has("offline_prompts")) {
      md.append(String.format(Locale.ROOT, "%nOffline workload: %d prompts of %d random token ids, %d greedy output "
          + "tokens each (end-of-sequence ignored), all submitted at once.%n", r.path("offline_prompts").asInt(),
          r.path("offline_input_len").asInt(), r.path("offline_output_len").asInt()));
    }
  }

  static void row(StringBuilder md, JsonNode r, String key, String label, String format) {
    if (r.has(key)) {
      md.append("| ").append(label).append(" | ").append(String.format(Locale.ROOT, format, r.get(key).asDouble()))
          .append(" |\n");
    }
  }
}
