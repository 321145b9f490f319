package org.sparkllm.checkpoint;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small byte-level BPE trainer: splits a corpus with the pre-tokenizer's regex, then repeatedly
 * merges the most frequent adjacent pair of tokens. Deterministic: ties go to the pair with the
 * smaller (left id, right id), and words are visited in corpus order. A pair whose result already is
 * a token (reached by another merge order) is skipped, so every merge adds exactly one new token.
 */
final class BpeTrainer {
  /** A learned merge: left and right token ids, and the id of the token they make. */
  record Merge(int left, int right, int result) {}

  /** The learned vocabulary: token bytes by id (ids 0..255 are the single bytes), and merges. */
  record Result(List<byte[]> tokens, List<Merge> merges) {}

  private BpeTrainer() {}

  /** Learns at most maxMerges merges, each seen at least twice in the corpus. */
  static Result train(String corpus, Pattern preTokenizer, int maxMerges) {
    Map<String, Integer> wordCounts = new LinkedHashMap<>();
    Matcher matcher = preTokenizer.matcher(corpus);
    while (matcher.find()) {
      wordCounts.merge(matcher.group(), 1, Integer::sum);
    }
    List<int[]> words = new ArrayList<>(wordCounts.size());
    int[] counts = new int[wordCounts.size()];
    for (Map.Entry<String, Integer> entry : wordCounts.entrySet()) {
      byte[] bytes = entry.getKey().getBytes(StandardCharsets.UTF_8);
      int[] symbols = new int[bytes.length];
      for (int i = 0; i < bytes.length; i++) {
        symbols[i] = bytes[i] & 0xFF;
      }
      counts[words.size()] = entry.getValue();
      words.add(symbols);
    }

    List<byte[]> tokens = new ArrayList<>();
    Map<String, Integer> idsByToken = new HashMap<>();
    for (int b = 0; b < 256; b++) {
      tokens.add(new byte[] {(byte) b});
      idsByToken.put(ByteLevelAlphabet.symbol(b), b);
    }
    List<Merge> merges = new ArrayList<>();
    while (merges.size() < maxMerges) {
      long best = bestPair(words, counts, tokens, idsByToken);
      if (best < 0) {
        break;
      }
      int left = (int) (best >>> 32);
      int right = (int) best;
      byte[] merged = concat(tokens.get(left), tokens.get(right));
      int id = tokens.size();
      tokens.add(merged);
      idsByToken.put(ByteLevelAlphabet.encode(merged), id);
      merges.add(new Merge(left, right, id));
      for (int w = 0; w < words.size(); w++) {
        words.set(w, applyMerge(words.get(w), left, right, id));
      }
    }
    return new Result(tokens, merges);
  }

  /** The most frequent eligible pair packed as (left << 32 | right), or -1 when none is left. */
  private static long bestPair(List<int[]> words, int[] counts, List<byte[]> tokens,
      Map<String, Integer> idsByToken) {
    Map<Long, Integer> pairCounts = new HashMap<>();
    for (int w = 0; w < words.size(); w++) {
      int[] symbols = words.get(w);
      for (int i = 0; i + 1 < symbols.length; i++) {
        pairCounts.merge(pack(symbols[i], symbols[i + 1]), counts[w], Integer::sum);
      }
    }
    long best = -1;
    int bestCount = 0;
    for (Map.Entry<Long, Integer> entry : pairCounts.entrySet()) {
      long pair = entry.getKey();
      int count = entry.getValue();
      // a pair seen once teaches nothing; among equals the smaller pair wins
      if (count < 2 || count < bestCount || (count == bestCount && pair > best)) {
        continue;
      }
      byte[] merged = concat(tokens.get((int) (pair >>> 32)), tokens.get((int) pair));
      if (idsByToken.containsKey(ByteLevelAlphabet.encode(merged))) {
        continue;
      }
      best = pair;
      bestCount = count;
    }
    return best;
  }

  private static long pack(int left, int right) {
    return ((long) left << 32) | right;
  }

  private static int[] applyMerge(int[] symbols, int left, int right, int result) {
    int[] out = new int[symbols.length];
    int n = 0;
    for (int i = 0; i < symbols.length; i++) {
      if (i + 1 < symbols.length && symbols[i] == left && symbols[i + 1] == right) {
        out[n++] = result;
        i++;
      } else {
        out[n++] = symbols[i];
      }
    }
    return n == symbols.length ? symbols : Arrays.copyOf(out, n);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
