package org.sparkllm.bench.gpu;

import static org.sparkllm.bench.gpu.GpuBaselineReport.header;
import static org.sparkllm.bench.gpu.GpuBaselineReport.offlineWorkload;
import static org.sparkllm.bench.gpu.GpuBaselineReport.row;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/** The markdown tables of a megakernel report: headline ratios, decode by batch, the per-opcode breakdown. */
final class MegakernelReport {
  private MegakernelReport() {}

  static String markdown(JsonNode r) {
    StringBuilder md = header("Megakernel decode", r);
    row(md, r, "batch1_us_per_token_graph", "batch-1 decode, CUDA-graph path (timed steps' wall time / steps)",
        "%.1f µs/token");
    row(md, r, "batch1_us_per_token_megakernel", "batch-1 decode, megakernel (timed steps' wall time / steps)",
        "%.1f µs/token");
    row(md, r, "batch1_speedup", "megakernel speed-up at batch 1", "%.2fx");
    row(md, r, "batch1_floor_us", "batch-1 floor (weights + KV bytes / copy bandwidth)", "%.1f µs");
    row(md, r, "batch1_bw_fraction", "megakernel batch-1 bandwidth / copy bandwidth", "%.3f");
    row(md, r, "batch1_kernel_us_megakernel", "batch-1 megakernel launch alone (CUDA events)", "%.1f µs");
    row(md, r, "batch1_kernel_bw_fraction", "the launch's bandwidth / copy bandwidth", "%.3f");
    row(md, r, "batch64_over_batch1", "megakernel step at batch 64 / batch 1", "%.2f");
    row(md, r, "offline_tokens_per_s_graph", "offline throughput, CUDA-graph path", "%.0f tokens/s");
    row(md, r, "offline_tokens_per_s_megakernel", "offline throughput, megakernel engine", "%.0f tokens/s");
    row(md, r, "offline_megakernel_over_graph", "offline megakernel / graph path", "%.2fx");
    row(md, r, "offline_staggered_tokens_per_s_graph", "offline, staggered output lengths, CUDA-graph path",
        "%.0f tokens/s");
    row(md, r, "offline_staggered_tokens_per_s_megakernel", "offline, staggered output lengths, megakernel engine",
        "%.0f tokens/s");
    row(md, r, "offline_staggered_megakernel_over_graph", "offline staggered, megakernel / graph path", "%.2fx");

    JsonNode decode = r.path("decode");
    if (decode.size() > 0) {
      md.append("\nDecode step time by batch size (host time per step call, median; beside it the timed steps' wall "
              + "time / steps; context ")
          .append(decode.elements().next().path("context").asInt()).append(" tokens):\n\n")
          .append("| batch | graph µs | megakernel µs | speed-up | graph, wall / steps | megakernel, wall / steps | "
              + "runs on the megakernel | megakernel launch alone µs (CUDA events) | steps launched ahead, used |\n"
              + "|---|---|---|---|---|---|---|---|---|\n");
      for (Iterator<Map.Entry<String, JsonNode>> it = decode.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        JsonNode n = e.getValue();
        md.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.2fx | %.1f | %.1f | %s | %.1f | %d, %d |%n",
            e.getKey().substring("batch".length()), n.path("graph_us_per_step").asDouble(),
            n.path("megakernel_us_per_step").asDouble(), n.path("speedup").asDouble(),
            n.path("graph_us_per_step_wall").asDouble(Double.NaN),
            n.path("megakernel_us_per_step_wall").asDouble(Double.NaN),
            n.path("on_megakernel").asBoolean() ? "yes" : "no (graph path)",
            n.path("megakernel_kernel_us").asDouble(Double.NaN), n.path("steps_launched_ahead").asLong(),
            n.path("steps_launched_ahead_used").asLong()));
      }
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = r.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().startsWith("breakdown_batch")) {
        breakdown(md, e.getKey().substring("breakdown_batch".length()), e.getValue());
      }
    }
    offlineWorkload(md, r);
    if (r.has("offline_megakernel_max_rows")) {
      md.append(String.format(Locale.ROOT, "The megakernel engine runs decode steps of up to %d rows on the megakernel "
          + "(`MegakernelOptions.maxRows`), larger ones on the graph path.%n",
          r.path("offline_megakernel_max_rows").asInt()));
    }
    if (r.has("offline_staggered_tokens_per_s_megakernel")) {
      md.append(String.format(Locale.ROOT, "Staggered: the same number of prompts, each with an output length drawn "
          + "from 1 to %d (the same mean), so sequences finish and waiting ones are admitted at nearly every step.%n",
          2 * r.path("offline_output_len").asInt() - 1));
    }
    return md.toString();
  }

  private static void breakdown(StringBuilder md, String batch, JsonNode b) {
    md.append(String.format(Locale.ROOT, "%nWhere a batch-%s step goes (in-kernel %%globaltimer stamps of "
        + "consumer thread 0, %d steps, %.1f µs/step with timing on), µs per instruction: waiting on dependency "
        + "counters, staging inputs (RMSNorm, activations; at 1 row it includes waiting for residual words the "
        + "counter ran ahead of), waiting for weight pages, computing, thread 0's epilogues (its stores), and the "
        + "barrier and signal (waiting for the block's slowest warp, the fence and the counter's add); beside them, "
        + "how long the loader warp waited for a free ring page before copying the instruction's weights (the ring held pages not yet taken: the block fetched nothing new)."
        + "%n%n", batch, b.path("steps").asLong(),
        b.path("us_per_step_with_timing").asDouble()));
    md.append("| opcode | per step | dependency wait | staging | page wait | compute | epilogue | barrier + signal "
        + "| ring full |\n|---|---|---|---|---|---|---|---|---|\n");
    for (Iterator<Map.Entry<String, JsonNode>> it = b.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getValue().isObject()) {
        JsonNode n = e.getValue();
        md.append(String.format(Locale.ROOT, "| %s | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |%n",
            e.getKey(), n.path("instructions_per_step").asDouble(), n.path("dependency_wait_us").asDouble(),
            n.path("staging_us").asDouble(), n.path("page_wait_us").asDouble(), n.path("compute_us").asDouble(),
            n.path("epilogue_us").asDouble(), n.path("barrier_signal_us").asDouble(),
            n.path("ring_full_us").asDouble()));
      }
    }
  }
}
