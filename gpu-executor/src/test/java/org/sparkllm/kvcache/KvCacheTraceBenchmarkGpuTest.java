package org.sparkllm.kvcache;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkllm.cuda.GpuTests;

/** A short run of the decode-trace benchmark: it completes and reports every field. */
@Tag("gpu")
class KvCacheTraceBenchmarkGpuTest {
  @BeforeEach
  void requireGpu() {
    GpuTests.assumeCudaDevice();
  }

  @Test
  void shortRunWritesTheReport(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("trace.json");
    KvCacheTraceBenchmark.main(new String[] {"--steps", "300", "--step-us", "2000", "--out", out.toString()});
    JsonNode report = new ObjectMapper().readTree(out.toFile());
    for (String field : new String[] {"gpu", "steps", "blocked_step_fraction_async", "p99_added_us_async",
        "p99_added_us_sync", "waste_pct", "waste_pct_paged16", "map_us_per_page", "set_access_us_per_page"}) {
      assertTrue(report.has(field), field);
    }
    assertTrue(report.get("blocked_step_fraction_async").asDouble()
        <= report.get("blocked_step_fraction_sync").asDouble());
  }
}
