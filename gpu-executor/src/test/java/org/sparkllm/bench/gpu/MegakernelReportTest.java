package org.sparkllm.bench.gpu;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class MegakernelReportTest {
  /** A report's identity fields, which every report has. */
  private static ObjectNode report() {
    ObjectNode r = new ObjectMapper().createObjectNode();
    r.put("gpu", "NVIDIA H100 80GB HBM3").put("checkpoint", "llama-3.2-1b");
    return r;
  }

  /** The same with the offline workload's shape. */
  private static ObjectNode offlineReport() {
    ObjectNode r = report();
    r.put("offline_prompts", 2048).put("offline_input_len", 256).put("offline_output_len", 256);
    return r;
  }

  @Test
  void everyBatchWithABreakdownGetsItsTable() {
    ObjectNode r = report();
    for (int batch : new int[] {1, 8}) {
      ObjectNode b = r.putObject("breakdown_batch" + batch);
      b.put("steps", 50).put("us_per_step_with_timing", 1700.0 + batch);
      b.putObject("QKV").put("instructions_per_step", 2112).put("dependency_wait_us", 1.25)
          .put("staging_us", 2.0 * batch).put("page_wait_us", 0.3).put("compute_us", 3.0).put("epilogue_us", 1.5)
          .put("barrier_signal_us", 0.5);
    }
    String md = MegakernelReport.markdown(r);
    assertTrue(md.contains("Where a batch-1 step goes") && md.contains("1701.0 µs/step"), md);
    assertTrue(md.contains("Where a batch-8 step goes")
        && md.contains("| QKV | 2112 | 1.25 | 16.00 | 0.30 | 3.00 | 1.50 | 0.50 |"), md);
  }

  @Test
  void decodeRowsShowTheWallTimeTheLaunchAloneAndTheStepsLaunchedAheadBesideTheHostStep() {
    ObjectNode r = report();
    r.put("batch1_kernel_us_megakernel", 1100.5).put("batch1_kernel_bw_fraction", 0.76);
    r.putObject("decode").putObject("batch1").put("context", 512).put("on_megakernel", true)
        .put("graph_us_per_step", 1348.0).put("megakernel_us_per_step", 1136.2).put("speedup", 1.19)
        .put("graph_us_per_step_wall", 1350.5).put("megakernel_us_per_step_wall", 1141.0)
        .put("megakernel_kernel_us", 1100.5).put("steps_launched_ahead", 594).put("steps_launched_ahead_used", 588);
    String md = MegakernelReport.markdown(r);
    assertTrue(md.contains("| 1 | 1348.0 | 1136.2 | 1.19x | 1350.5 | 1141.0 | yes | 1100.5 | 594, 588 |"), md);
    assertTrue(md.contains("| batch-1 megakernel launch alone (CUDA events) | 1100.5 µs |"), md);
    assertTrue(md.contains("| the launch's bandwidth / copy bandwidth | 0.760 |"), md);
  }

  @Test
  void theStaggeredOfflineWorkloadHasItsRowsAndItsSentence() {
    ObjectNode r = offlineReport();
    r.put("offline_staggered_tokens_per_s_graph", 50000.0).put("offline_staggered_tokens_per_s_megakernel", 30000.0)
        .put("offline_staggered_megakernel_over_graph", 0.6);
    String md = MegakernelReport.markdown(r);
    assertTrue(md.contains("| offline staggered, megakernel / graph path | 0.60x |"), md);
    assertTrue(md.contains("output length drawn from 1 to 511"), md);
  }

  @Test
  void theOfflineRowLimitIsNamedWhenTheRunSetIt() {
    ObjectNode r = offlineReport();
    assertFalse(MegakernelReport.markdown(r).contains("runs decode steps of up to"));
    r.put("offline_megakernel_max_rows", 16);
    String md = MegakernelReport.markdown(r);
    assertTrue(md.contains("runs decode steps of up to 16 rows on the megakernel"), md);
  }
}
