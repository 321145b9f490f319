package org.sparkllm.examples.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Deterministic English-like prompts for throughput runs: each starts with its index, so no two are
 * equal (llm_generate sends identical prompts of a partition to the engine once, which would make
 * the Spark side do less work than the bare engine), then words drawn with a fixed seed.
 */
final class BenchmarkPrompts {
  private static final String[] WORDS = (
      "the a of and to in is that for on with as by at from this it be are was or an which "
          + "data model engine token batch spark task stage executor driver memory cache page "
          + "request prompt answer question summary report table column row value number list "
          + "river mountain city country language history science music garden winter summer "
          + "quickly slowly carefully often never always together again later early first last "
          + "write explain describe compare translate summarize count measure build read send")
      .split(" ");

  private BenchmarkPrompts() {}

  /** {@code count} prompts of {@code words} words after an index prefix; same arguments, same text. */
  static List<String> generate(int count, int words, long seed) {
    Random random = new Random(seed);
    List<String> prompts = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      StringBuilder text = new StringBuilder("Request ").append(i).append(':');
      for (int w = 0; w < words; w++) {
        text.append(' ').append(WORDS[random.nextInt(WORDS.length)]);
      }
      prompts.add(text.append('.').toString());
    }
    return prompts;
  }
}
