package org.sparkllm.engine;

/**
 * How the next token is chosen from the logits. Filters apply in Hugging Face's order: temperature,
 * then top-k, then top-p, then min-p.
 *
 * @param temperature 0 means greedy (argmax); otherwise logits are divided by it
 * @param topK keep the k most likely tokens; 0 disables
 * @param topP keep the smallest set of most likely tokens whose probability reaches p; 1 disables
 * @param minP drop tokens less likely than minP times the most likely one; 0 disables
 * @param seed the draw for the i-th generated token depends only on (seed, i), so a request gives the
 *     same output however it is batched, preempted or retried
 */
public record SamplingParams(double temperature, int topK, double topP, double minP, long seed) {

  public SamplingParams {
    require(temperature >= 0 && Double.isFinite(temperature), "temperature", temperature, ">= 0");
    require(topK >= 0, "top_k", topK, ">= 0 (0 disables it)");
    require(topP > 0 && topP <= 1, "top_p", topP, "in (0, 1]");
    require(minP >= 0 && minP < 1, "min_p", minP, "in [0, 1)");
  }

  public static SamplingParams greedy() {
    return new SamplingParams(0, 0, 1, 0, 0);
  }

  public boolean isGreedy() {
    return temperature == 0;
  }

  private static void require(boolean ok, String name, Object value, String expected) {
    if (!ok) {
      throw new InvalidRequestException(name + " = " + value + " is invalid: it must be " + expected);
    }
  }
}
