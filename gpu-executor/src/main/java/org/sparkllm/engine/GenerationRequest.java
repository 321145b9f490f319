package org.sparkllm.engine;

import java.util.List;
import java.util.Objects;

/**
 * One prompt to complete. Build with {@link #prompt(String)} or {@link #tokens(int[])} and the
 * {@code with...} methods; requests are immutable.
 *
 * @param prompt the text; null when {@code promptTokens} is given
 * @param promptTokens already tokenized prompt (benchmarks); null when {@code prompt} is given
 * @param chat render the prompt as a user message through the model's chat template
 * @param systemPrompt an optional system message for chat
 * @param maxTokens most tokens to generate
 * @param sampling null means the model's defaults from generation_config.json
 * @param stop strings that end generation when they appear in the completion
 * @param ignoreEos keep generating past end-of-sequence tokens until max_tokens (benchmarks that need
 *     a fixed output length)
 */
public record GenerationRequest(
    String prompt,
    int[] promptTokens,
    boolean chat,
    String systemPrompt,
    int maxTokens,
    SamplingParams sampling,
    List<String> stop,
    boolean ignoreEos) {

  public static final int DEFAULT_MAX_TOKENS = 256;

  public GenerationRequest {
    if ((prompt == null) == (promptTokens == null)) {
      throw new InvalidRequestException("a request needs exactly one of a prompt text or prompt tokens");
    }
    if (maxTokens < 1) {
      throw new InvalidRequestException("max_tokens = " + maxTokens + " is invalid: it must be >= 1");
    }
    stop = List.copyOf(Objects.requireNonNull(stop, "stop"));
    for (String s : stop) {
      if (s.isEmpty()) {
        throw new InvalidRequestException("stop strings must not be empty");
      }
    }
  }

  public static GenerationRequest prompt(String prompt) {
    if (prompt == null) {
      throw new InvalidRequestException("prompt is null");
    }
    return new GenerationRequest(prompt, null, false, null, DEFAULT_MAX_TOKENS, null, List.of(), false);
  }

  public static GenerationRequest tokens(int[] promptTokens) {
    return new GenerationRequest(
        null, promptTokens.clone(), false, null, DEFAULT_MAX_TOKENS, null, List.of(), false);
  }

  public GenerationRequest withMaxTokens(int maxTokens) {
    return new GenerationRequest(prompt, promptTokens, chat, systemPrompt, maxTokens, sampling, stop, ignoreEos);
  }

  public GenerationRequest withSampling(SamplingParams sampling) {
    return new GenerationRequest(prompt, promptTokens, chat, systemPrompt, maxTokens, sampling, stop, ignoreEos);
  }

  public GenerationRequest withStop(List<String> stop) {
    return new GenerationRequest(prompt, promptTokens, chat, systemPrompt, maxTokens, sampling, stop, ignoreEos);
  }

  public GenerationRequest withIgnoreEos(boolean ignore) {
    return new GenerationRequest(prompt, promptTokens, chat, systemPrompt, maxTokens, sampling, stop, ignore);
  }

  /** Applies the chat template, with an optional (nullable) system prompt. */
  public GenerationRequest withChat(String systemPrompt) {
    return new GenerationRequest(prompt, promptTokens, true, systemPrompt, maxTokens, sampling, stop, ignoreEos);
  }
}
