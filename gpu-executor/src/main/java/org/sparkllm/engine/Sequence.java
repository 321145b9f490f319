package org.sparkllm.engine;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.sparkllm.tokenizer.StreamingDetokenizer;

/**
 * A request inside the engine: its tokens so far (prompt then generated), how many of them the KV
 * cache holds, and the text produced. Touched only by the engine thread.
 */
final class Sequence {
  final GenerationRequest request;
  final SamplingParams sampling;
  final CompletableFuture<GenerationResult> future;
  final int promptLength;
  final long submittedNanos;
  private final StreamingDetokenizer detokenizer;
  private final StringBuilder text = new StringBuilder();
  private int[] tokens;
  private int length;

  /** Tokens whose keys and values are in the KV cache. Reset to 0 by preemption. */
  int computed;
  /** The KV-cache slot while admitted; -1 while waiting. */
  int slot = -1;
  int preemptions;
  long firstTokenNanos;

  Sequence(
      GenerationRequest request,
      SamplingParams sampling,
      int[] promptTokens,
      StreamingDetokenizer detokenizer,
      CompletableFuture<GenerationResult> future) {
    this.request = request;
    this.sampling = sampling;
    this.future = future;
    this.detokenizer = detokenizer;
    this.promptLength = promptTokens.length;
    this.tokens = Arrays.copyOf(promptTokens, promptTokens.length + Math.min(request.maxTokens(), 1024));
    this.length = promptTokens.length;
    this.submittedNanos = System.nanoTime();
  }

  int length() {
    return length;
  }

  int generated() {
    return length - promptLength;
  }

  /** Tokens not yet in the KV cache: the whole sequence after preemption, one while decoding. */
  int pending() {
    return length - computed;
  }

  int[] tokens(int from, int to) {
    return Arrays.copyOfRange(tokens, from, to);
  }

  /** Appends a generated token and its text; returns the text it completes (possibly empty). */
  String append(int token) {
    appendWithoutText(token);
    String piece = detokenizer.append(token);
    text.append(piece);
    return piece;
  }

  /** Appends a token that adds no text: the end-of-sequence token that finishes the request. */
  void appendWithoutText(int token) {
    if (length == tokens.length) {
      tokens = Arrays.copyOf(tokens, tokens.length * 2);
    }
    tokens[length++] = token;
  }

  /** Adds what the detokenizer still holds back (a character cut off by the end of generation). */
  void flushText() {
    text.append(detokenizer.finish());
  }

  StringBuilder text() {
    return text;
  }

  int[] generatedTokens() {
    return Arrays.copyOfRange(tokens, promptLength, length);
  }
}
