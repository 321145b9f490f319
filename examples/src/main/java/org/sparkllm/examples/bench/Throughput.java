package org.sparkllm.examples.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The timed passes of one side. Every pass must return the same totals (the workload is fixed);
 * the rate is taken at the median time, so one disturbed pass does not decide the ratio.
 */
record Throughput(String side, List<Pass> passes) {
  Throughput {
    passes = List.copyOf(passes);
    if (passes.isEmpty()) {
      throw new IllegalArgumentException(side + ": no timed pass");
    }
    Pass first = passes.get(0);
    for (Pass p : passes) {
      if (p.rows() != first.rows() || p.promptTokens() != first.promptTokens()
          || p.outputTokens() != first.outputTokens()) {
        throw new IllegalStateException(side + ": passes returned different totals: " + passes);
      }
    }
  }

  Pass totals() {
    return passes.get(0);
  }

  double medianSeconds() {
    double[] seconds = passes.stream().mapToDouble(Pass::seconds).sorted().toArray();
    int n = seconds.length;
    return n % 2 == 1 ? seconds[n / 2] : (seconds[n / 2 - 1] + seconds[n / 2]) / 2;
  }

  double outputTokensPerSecond() {
    return totals().outputTokens() / medianSeconds();
  }

  void writeTo(ObjectNode node) {
    node.put("rows", totals().rows());
    node.put("prompt_tokens", totals().promptTokens());
    node.put("output_tokens", totals().outputTokens());
    ArrayNode seconds = node.putArray("seconds");
    passes.forEach(p -> seconds.add(p.seconds()));
    node.put("median_seconds", medianSeconds());
    node.put("output_tokens_per_s", outputTokensPerSecond());
  }
}
