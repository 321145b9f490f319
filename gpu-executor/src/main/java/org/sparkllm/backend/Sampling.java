package org.sparkllm.backend;

/**
 * How a backend that samples on the device picks one sequence's next token (see the engine's
 * SamplingParams for the meaning of each filter; they apply in Hugging Face's order: temperature,
 * top-k, top-p, min-p).
 *
 * @param temperature 0 means greedy: the first index of the largest logit
 * @param topK 0 disables
 * @param topP 1 disables
 * @param minP 0 disables
 * @param seed the request's seed: the random stream is keyed by it
 * @param counter the index of the token being generated: the draw depends only on (seed, counter)
 */
public record Sampling(float temperature, int topK, float topP, float minP, long seed, int counter) {

  public static Sampling greedy() {
    return new Sampling(0, 0, 1, 0, 0, 0);
  }

  /** Whether the token is the argmax (the device sampler draws only at a positive temperature). */
  public boolean isGreedy() {
    return temperature <= 0;
  }
}
