package org.sparkllm.kvcache;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Map;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaVmm;

/**
 * Decode trace at the Llama-3.2-1B KV shape (16 layers, 8 KV heads of 64, bf16; 256 slots; sequences
 * up to 4K tokens) on the GPU, once with background mapping and once mapping synchronously, the same
 * seeded trace both times. Each step's kernel writes the new tokens through the virtual tensors and a
 * busy wait stands in for the rest of the step's compute, which is when the mapper works.
 *
 * <p>Usage: {@code KvCacheTraceBenchmark [--steps N] [--step-us US] [--out FILE.json]}
 */
public final class KvCacheTraceBenchmark {
  private static final int SLOTS = 256;
  private static final int MAX_CONTEXT = 4096;
  private static final long SEED = 42;

  private KvCacheTraceBenchmark() {}

  public static void main(String[] args) throws IOException {
    int steps = 3000;
    long stepMicros = 5000;
    Path out = Paths.get("kv-cache-trace.json");
    for (int i = 0; i < args.length; i += 2) {
      switch (args[i]) {
        case "--steps" -> steps = Integer.parseInt(args[i + 1]);
        case "--step-us" -> stepMicros = Long.parseLong(args[i + 1]);
        case "--out" -> out = Paths.get(args[i + 1]);
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    Map<String, Object> report = run(steps, stepMicros);
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), report);
    System.out.println(new ObjectMapper().writeValueAsString(report));
  }

  public static Map<String, Object> run(int steps, long stepMicros) {
    try (CudaContext context = CudaContext.openPrimary(0)) {
      CudaVmm vmm = new CudaVmm(0);
      KvCacheShape shape = KvCacheShape.llama32OneB(SLOTS, MAX_CONTEXT, vmm.granularity());
      TraceResult async = runOnce(context, shape, KvCacheOptions.defaults(), steps, stepMicros);
      TraceResult sync = runOnce(context, shape, KvCacheOptions.defaults().withBackgroundMapping(false), steps,
          stepMicros);
      DriverCallTimer.PerPageMicros perPage = DriverCallTimer.measure(vmm, 256);
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("gpu", context.deviceName());
      report.put("steps", steps);
      report.put("step_us", stepMicros);
      report.put("page_bytes", shape.pageBytes());
      report.put("page_tokens", shape.pageTokens());
      report.put("blocked_step_fraction_async", async.blockedStepFraction());
      report.put("blocked_step_fraction_sync", sync.blockedStepFraction());
      report.put("p99_added_us_async", async.p99AddedMicros());
      report.put("p99_added_us_sync", sync.p99AddedMicros());
      report.put("max_added_us_async", async.maxAddedMicros());
      report.put("max_added_us_sync", sync.maxAddedMicros());
      report.put("warmup_steps", async.warmupSteps());
      report.put("warmup_blocked_step_fraction_async", async.warmupBlockedStepFraction());
      report.put("warmup_blocked_step_fraction_sync", sync.warmupBlockedStepFraction());
      report.put("warmup_max_added_us_async", async.warmupMaxAddedMicros());
      report.put("warmup_max_added_us_sync", sync.warmupMaxAddedMicros());
      report.put("waste_pct", async.wastePct());
      report.put("waste_pct_paged16", async.wastePctPaged16());
      report.put("completed_requests", async.completed());
      report.put("preempted", async.preempted() + sync.preempted());
      report.put("map_us_per_page", perPage.map());
      report.put("set_access_us_per_page", perPage.setAccess());
      report.put("unmap_us_per_page", perPage.unmap());
      return report;
    }
  }

  private static TraceResult runOnce(CudaContext context, KvCacheShape shape, KvCacheOptions options, int steps,
      long stepMicros) {
    try (VAttentionKvCache cache = VAttentionKvCache.create(shape, options, new CudaVirtualMemoryDriver(context));
        KvPatternKernels kernels = KvPatternKernels.forCache(context, cache)) {
      DecodeTrace trace = new DecodeTrace(SEED, SLOTS, MAX_CONTEXT, 8);
      return TraceRun.run(cache, trace, steps, (n, slots, starts, ends) -> {
        long until = System.nanoTime() + stepMicros * 1000;
        kernels.fill(n, slots, starts, ends, 1);
        while (System.nanoTime() < until) {
          Thread.onSpinWait();
        }
      });
    }
  }
}
