package org.sparkllm.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.sparkllm.backend.Sampling;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaEvent;
import org.sparkllm.cuda.CudaGraph;
import org.sparkllm.cuda.CudaModule;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.cuda.GpuTests;
import org.sparkllm.cuda.KernelFatbin;
import org.sparkllm.cuda.PinnedHostBuffer;

/**
 * The device sampler against a Java model of its filters and draw: exact answers where they are
 * determined (greedy, top-k 1, the token set the filters keep, the Philox draw walked in id order), and
 * a chi-square test of the sampled distribution.
 */
@Tag("gpu")
class DeviceSamplerGpuTest {
  private static final int POISON = -1;  // what a 0xFF fill of the token buffer reads as

  @BeforeEach
  void requireGpu() {
    GpuTests.assumeCudaDevice();
  }

  @Test
  void greedyTakesTheFirstLargestLogitAndLeavesRowsPastTheCountUntouched() {
    int vocab = 1000;
    int rows = 8;
    Random rng = new Random(11);
    float[] logits = gaussian(rng, rows * vocab, 1);
    logits[17] = 9.5f;  // row 0: a tie, the smaller index wins
    logits[900] = 9.5f;
    logits[vocab + 999] = 7f;  // row 1: the last token
    logits[2 * vocab] = 7f;  // row 2: the first token
    Arrays.fill(logits, 3 * vocab, 4 * vocab, 0.25f);  // row 3: all equal
    for (int i = 4 * vocab; i < 5 * vocab; i++) {
      logits[i] = -5 - Math.abs(logits[i]);  // row 4: all negative
    }
    int[] expected = new int[rows];
    for (int r = 0; r < rows; r++) {
      expected[r] = argmax(logits, r * vocab, vocab);
    }
    assertEquals(17, expected[0]);
    assertEquals(999, expected[1]);
    assertEquals(0, expected[2]);
    assertEquals(0, expected[3]);
    Sampling[] params = new Sampling[rows];
    Arrays.fill(params, Sampling.greedy());
    try (CudaContext context = CudaContext.openPrimary(0);
        CudaModule module = context.loadModule(KernelFatbin.read());
        CudaStream stream = context.createStream();
        Batch batch = new Batch(context, stream, logits, vocab, vocab, params)) {
      DeviceSampler sampler = new DeviceSampler(module);
      assertArrayEquals(withPoisonFrom(expected, 5), batch.run(sampler, 5));
      // One captured launch, replayed with other row counts read from device memory.
      try (CudaGraph graph = CudaGraph.capture(stream, () -> batch.launch(sampler))) {
        batch.setRowCount(3);
        batch.poison();
        graph.launch(stream);
        assertArrayEquals(withPoisonFrom(expected, 3), batch.readTokens());
        batch.setRowCount(rows);
        batch.poison();
        graph.launch(stream);
        assertArrayEquals(expected, batch.readTokens());
      }
    }
  }

  @Test
  void tinyVocabulariesAndTopKOneAgreeWithArgmax() {
    Random rng = new Random(5);
    try (CudaContext context = CudaContext.openPrimary(0);
        CudaModule module = context.loadModule(KernelFatbin.read());
        CudaStream stream = context.createStream()) {
      DeviceSampler sampler = new DeviceSampler(module);
      for (int vocab : new int[] {1, 2, 50}) {
        float[] logits = gaussian(rng, vocab, 2);
        Sampling[] params = {
            new Sampling(1f, 0, 1f, 0f, 3, 0),
            new Sampling(0.8f, 1, 1f, 0f, 3, 1),
            new Sampling(1.2f, 0, 0.5f, 0.1f, 3, 2),
            new Sampling(1f, 1, 0.3f, 0.5f, 3, 3),
        };
        try (Batch batch = new Batch(context, stream, logits, 0, vocab, params)) {
          int[] tokens = batch.run(sampler, params.length);
          int best = argmax(logits, 0, vocab);
          assertEquals(best, tokens[1], "top-k 1, vocab " + vocab);
          assertEquals(best, tokens[3], "top-k 1 with the other filters, vocab " + vocab);
          for (int r : new int[] {0, 2}) {
            double[] p = keptProbabilities(logits, 0, vocab, params[r], 1e-6);
            assertTrue(tokens[r] >= 0 && tokens[r] < vocab && p[tokens[r]] > 0,
                "vocab " + vocab + " row " + r + " drew " + tokens[r]);
          }
        }
      }
    }
  }

  @Test
  void drawsDependOnlyOnSeedAndCounterAndFollowTheModel() {
    int vocab = 1000;
    int rows = 512;
    float[] logits = gaussian(new Random(21), vocab, 1);
    Sampling[] first = new Sampling[rows];
    Sampling[] second = new Sampling[rows];
    for (int r = 0; r < rows; r++) {
      first[r] = new Sampling(1f, 0, 1f, 0f, 1234, r);
      second[r] = new Sampling(1f, 0, 1f, 0f, 99, r);
    }
    try (CudaContext context = CudaContext.openPrimary(0);
        CudaModule module = context.loadModule(KernelFatbin.read());
        CudaStream stream = context.createStream();
        Batch a = new Batch(context, stream, logits, 0, vocab, first);
        Batch b = new Batch(context, stream, logits, 0, vocab, second)) {
      DeviceSampler sampler = new DeviceSampler(module);
      int[] tokens = a.run(sampler, rows);
      assertArrayEquals(tokens, a.run(sampler, rows), "the same (seed, counter) gives the same token");
      long distinct = Arrays.stream(tokens).distinct().count();
      assertTrue(distinct > 150, "different counters give different draws: " + distinct + " distinct tokens");
      int[] otherSeed = b.run(sampler, rows);
      int same = 0;
      int offModel = 0;
      for (int r = 0; r < rows; r++) {
        same += tokens[r] == otherSeed[r] ? 1 : 0;
        offModel += tokens[r] == modelDraw(logits, 0, vocab, first[r]) ? 0 : 1;
      }
      System.out.printf("determinism: %d distinct of %d, %d equal under another seed, %d off the model%n",
          distinct, rows, same, offModel);
      assertTrue(same < 40, "another seed draws other tokens: " + same + " equal");
      // The model sums double probabilities, the device fixed-point ones of float exp: they may part
      // only where the target falls within rounding of a boundary.
      assertTrue(offModel <= 2, offModel + " draws differ from the Philox model");
    }
  }

  @Test
  void sampledDistributionsPassChiSquare() {
    int vocab = 64;
    int n = 40000;
    long seed = 20240611L;
    float[] logits = gaussian(new Random(64), vocab, 2);
    Sampling[] cases = {
        new Sampling(0.7f, 0, 1f, 0f, seed, 0),
        new Sampling(1f, 8, 1f, 0f, seed, 0),
        new Sampling(1f, 0, 0.6f, 0f, seed, 0),
        new Sampling(1f, 0, 1f, 0.2f, seed, 0),
        new Sampling(1f, 20, 0.9f, 0f, seed, 0),
    };
    try (CudaContext context = CudaContext.openPrimary(0);
        CudaModule module = context.loadModule(KernelFatbin.read());
        CudaStream stream = context.createStream()) {
      DeviceSampler sampler = new DeviceSampler(module);
      for (Sampling c : cases) {
        double[] p = keptProbabilities(logits, 0, vocab, c, 0);
        assertArrayEquals(keptSet(keptProbabilities(logits, 0, vocab, c, -1e-6)),
            keptSet(keptProbabilities(logits, 0, vocab, c, 1e-6)), "test data on a filter's edge: " + c);
        Sampling[] params = new Sampling[n];
        for (int r = 0; r < n; r++) {
          params[r] = new Sampling(c.temperature(), c.topK(), c.topP(), c.minP(), c.seed(), r);
        }
        int[] tokens;
        try (Batch batch = new Batch(context, stream, logits, 0, vocab, params)) {
          tokens = batch.run(sampler, n);
        }
        long[] counts = new long[vocab];
        for (int t : tokens) {
          assertTrue(t >= 0 && t < vocab && p[t] > 0, "token " + t + " outside the kept set of " + c);
          counts[t]++;
        }
        double[] stat = chiSquare(counts, p, n);
        int df = (int) stat[1] - 1;
        double limit = df > 0 ? chiSquareQuantile999(df) : 0;
        System.out.printf("chi-square %s: kept %d, bins %d, statistic %.2f, 0.999 quantile %.2f%n", c,
            keptSet(p).length, (int) stat[1], stat[0], limit);
        if (df > 0) {
          assertTrue(stat[0] < limit, "chi-square " + stat[0] + " >= " + limit + " for " + c);
        }
      }
    }
  }

  @Test
  void llamaVocabularyRowsKeepToTheirFiltersAndAreTimed() {
    int vocab = 128256;
    int rows = 256;
    float[] logits = gaussian(new Random(128256), rows * vocab, 3);
    Sampling[] kinds = {
        Sampling.greedy(),
        new Sampling(1f, 0, 1f, 0f, 0, 0),
        new Sampling(0.8f, 50, 1f, 0f, 0, 0),
        new Sampling(1f, 0, 0.9f, 0f, 0, 0),
        new Sampling(1f, 0, 1f, 0.05f, 0, 0),
        new Sampling(0.7f, 40, 0.95f, 0.02f, 0, 0),
        new Sampling(1.3f, 0, 0.5f, 0f, 0, 0),
        new Sampling(1f, 1, 1f, 0f, 0, 0),
    };
    Sampling[] params = new Sampling[rows];
    for (int r = 0; r < rows; r++) {
      Sampling k = kinds[r % kinds.length];
      params[r] = new Sampling(k.temperature(), k.topK(), k.topP(), k.minP(), 1000 + r, 7 * r);
    }
    try (CudaContext context = CudaContext.openPrimary(0);
        CudaModule module = context.loadModule(KernelFatbin.read());
        CudaStream stream = context.createStream();
        CudaEvent start = context.createEvent();
        CudaEvent end = context.createEvent();
        Batch batch = new Batch(context, stream, logits, vocab, vocab, params)) {
      DeviceSampler sampler = new DeviceSampler(module);
      int[] tokens = batch.run(sampler, rows);
      assertArrayEquals(tokens, batch.run(sampler, rows), "the same inputs give the same tokens");
      int offModel = 0;
      for (int r = 0; r < rows; r++) {
        Sampling s = params[r];
        int offset = r * vocab;
        if (s.temperature() == 0 || s.topK() == 1) {
          assertEquals(argmax(logits, offset, vocab), tokens[r], "row " + r + " " + s);
          continue;
        }
        double[] p = keptProbabilities(logits, offset, vocab, s, 1e-6);
        assertTrue(tokens[r] >= 0 && tokens[r] < vocab && p[tokens[r]] > 0,
            "row " + r + " " + s + " drew " + tokens[r] + " outside the kept set");
        offModel += tokens[r] == modelDraw(logits, offset, vocab, s) ? 0 : 1;
      }
      System.out.printf("vocab %d: %d of %d rows differ from the Philox model%n", vocab, offModel, rows);
      assertTrue(offModel <= 2, offModel + " draws differ from the Philox model");

      int launches = 20;
      start.record(stream);
      for (int i = 0; i < launches; i++) {
        batch.launch(sampler);
      }
      end.record(stream);
      end.synchronize();
      System.out.printf("sample_tokens, %d rows x vocab %d, mixed filters, %s: %.1f us per launch%n", rows, vocab,
          context.deviceName(), 1000.0 * end.millisSince(start) / launches);
    }
  }

  /** Device and pinned buffers for one set of rows; copies complete before each method returns. */
  private static final class Batch implements AutoCloseable {
    private final CudaStream stream;
    private final long rowStride;
    private final int vocab;
    private final int maxRows;
    private final DeviceBuffer logits;
    private final DeviceBuffer params;
    private final DeviceBuffer rowCount;
    private final DeviceBuffer tokens;
    private final PinnedHostBuffer hostCount;
    private final PinnedHostBuffer hostTokens;

    Batch(CudaContext context, CudaStream stream, float[] values, long rowStride, int vocab, Sampling[] rows) {
      this.stream = stream;
      this.rowStride = rowStride;
      this.vocab = vocab;
      this.maxRows = rows.length;
      this.logits = context.allocate(4L * values.length);
      this.params = context.allocate((long) DeviceSampler.PARAMS_BYTES * rows.length);
      this.rowCount = context.allocate(4);
      this.tokens = context.allocate(4L * rows.length);
      this.hostCount = context.allocatePinned(4);
      this.hostTokens = context.allocatePinned(4L * rows.length);
      try (PinnedHostBuffer hostLogits = context.allocatePinned(4L * values.length);
          PinnedHostBuffer hostParams = context.allocatePinned(params.bytes())) {
        hostLogits.buffer().asFloatBuffer().put(values);
        for (int r = 0; r < rows.length; r++) {
          DeviceSampler.writeParams(hostParams.buffer(), r, rows[r]);
        }
        logits.copyFrom(hostLogits, logits.bytes(), stream);
        params.copyFrom(hostParams, params.bytes(), stream);
        stream.synchronize();
      }
    }

    void setRowCount(int count) {
      hostCount.buffer().putInt(0, count);
      rowCount.copyFrom(hostCount, 4, stream);
      stream.synchronize();
    }

    void poison() {
      tokens.fill((byte) 0xFF, stream);
    }

    void launch(DeviceSampler sampler) {
      sampler.sample(stream, logits.address(), rowStride, vocab, params.address(), rowCount.address(), maxRows,
          tokens.address());
    }

    int[] run(DeviceSampler sampler, int count) {
      setRowCount(count);
      poison();
      launch(sampler);
      return readTokens();
    }

    int[] readTokens() {
      tokens.copyTo(hostTokens, tokens.bytes(), stream);
      stream.synchronize();
      int[] out = new int[maxRows];
      hostTokens.buffer().asIntBuffer().get(out);
      return out;
    }

    @Override
    public void close() {
      hostTokens.close();
      hostCount.close();
      tokens.close();
      rowCount.close();
      params.close();
      logits.close();
    }
  }

  private static float[] gaussian(Random rng, int count, double sigma) {
    float[] values = new float[count];
    for (int i = 0; i < count; i++) {
      values[i] = (float) (rng.nextGaussian() * sigma);
    }
    return values;
  }

  private static int[] withPoisonFrom(int[] expected, int count) {
    int[] out = expected.clone();
    Arrays.fill(out, count, out.length, POISON);
    return out;
  }

  private static int argmax(float[] logits, int offset, int vocab) {
    int best = 0;
    for (int i = 1; i < vocab; i++) {
      if (logits[offset + i] > logits[offset + best]) {
        best = i;
      }
    }
    return best;
  }

  /**
   * The distribution the filters leave, in double: z = logit / temperature in float as on the device,
   * top-k keeps z >= the k-th largest, top-p the smallest set of largest tokens reaching top_p (ties at
   * the cut kept), min-p drops exp(z - zmax) < min_p. A positive slack widens top-p and min-p (a
   * superset, to absorb the device's rounding), a negative one narrows them.
   */
  static double[] keptProbabilities(float[] logits, int offset, int vocab, Sampling s, double slack) {
    float[] z = new float[vocab];
    for (int i = 0; i < vocab; i++) {
      z[i] = logits[offset + i] / s.temperature();
    }
    int[] order = descending(z);
    double zmax = z[order[0]];
    int kept = vocab;
    if (s.topK() > 0 && s.topK() < vocab) {
      float kth = z[order[s.topK() - 1]];
      kept = s.topK();
      while (kept < vocab && z[order[kept]] >= kth) {
        kept++;
      }
    }
    double[] w = new double[vocab];
    double total = 0;
    for (int j = 0; j < kept; j++) {
      w[order[j]] = Math.exp(z[order[j]] - zmax);
      total += w[order[j]];
    }
    if (s.topP() < 1) {
      double need = (s.topP() + slack) * total;
      double cumulative = 0;
      int last = kept - 1;
      for (int j = 0; j < kept; j++) {
        cumulative += w[order[j]];
        if (cumulative >= need) {
          last = j;
          break;
        }
      }
      float cut = z[order[last]];
      for (int j = 0; j < kept; j++) {
        if (z[order[j]] < cut) {
          w[order[j]] = 0;
        }
      }
    }
    if (s.minP() > 0) {
      for (int i = 0; i < vocab; i++) {
        if (Math.exp(z[i] - zmax) < s.minP() - slack) {
          w[i] = 0;
        }
      }
    }
    double sum = Arrays.stream(w).sum();
    for (int i = 0; i < vocab; i++) {
      w[i] /= sum;
    }
    return w;
  }

  private static int[] keptSet(double[] p) {
    return java.util.stream.IntStream.range(0, p.length).filter(i -> p[i] > 0).toArray();
  }

  /** Ids by z, largest first, ties by smaller id. */
  private static int[] descending(float[] z) {
    long[] packed = new long[z.length];
    for (int i = 0; i < z.length; i++) {
      int bits = Float.floatToIntBits(z[i]);
      int ordered = bits >= 0 ? bits : bits ^ 0x7FFFFFFF;
      packed[i] = ((long) ordered << 32) | (0xFFFFFFFFL - i);
    }
    Arrays.sort(packed);
    int[] order = new int[z.length];
    for (int j = 0; j < z.length; j++) {
      order[j] = (int) (0xFFFFFFFFL - (packed[z.length - 1 - j] & 0xFFFFFFFFL));
    }
    return order;
  }

  /** The kernel's draw in double: u from Philox, the token where the kept probability in id order passes u. */
  private static int modelDraw(float[] logits, int offset, int vocab, Sampling s) {
    double[] p = keptProbabilities(logits, offset, vocab, s, 0);
    double u = (philox64(s.seed(), s.counter()) >>> 11) * 0x1.0p-53;
    double cumulative = 0;
    int last = -1;
    for (int i = 0; i < vocab; i++) {
      if (p[i] > 0) {
        last = i;
        cumulative += p[i];
        if (u < cumulative) {
          return i;
        }
      }
    }
    return last;
  }

  /** Philox4x32-10 of counter (counter, 0, 0, 0) under key seed: output words 0 and 1, as the kernel. */
  static long philox64(long seed, int counter) {
    int c0 = counter;
    int c1 = 0;
    int c2 = 0;
    int c3 = 0;
    int k0 = (int) seed;
    int k1 = (int) (seed >>> 32);
    for (int round = 0; round < 10; round++) {
      if (round > 0) {
        k0 += 0x9E3779B9;
        k1 += 0xBB67AE85;
      }
      long p0 = 0xD2511F53L * (c0 & 0xFFFFFFFFL);
      long p1 = 0xCD9E8D57L * (c2 & 0xFFFFFFFFL);
      int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
      int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
      c1 = (int) p1;
      c3 = (int) p0;
      c0 = n0;
      c2 = n2;
    }
    return ((long) c0 << 32) | (c1 & 0xFFFFFFFFL);
  }

  /**
   * Pearson's statistic over bins of tokens with p > 0, ids taken by increasing expected count and
   * merged until each bin expects at least 5 (a short tail joins the last bin). Returns {statistic, bins}.
   */
  private static double[] chiSquare(long[] counts, double[] p, int n) {
    Integer[] ids = java.util.stream.IntStream.range(0, p.length).filter(i -> p[i] > 0).boxed()
        .sorted((a, b) -> Double.compare(p[a], p[b])).toArray(Integer[]::new);
    java.util.List<double[]> bins = new java.util.ArrayList<>();  // {expected, observed}
    double expected = 0;
    double observed = 0;
    for (int id : ids) {
      expected += n * p[id];
      observed += counts[id];
      if (expected >= 5) {
        bins.add(new double[] {expected, observed});
        expected = 0;
        observed = 0;
      }
    }
    if (expected > 0) {
      if (bins.isEmpty()) {
        bins.add(new double[] {expected, observed});
      } else {
        double[] lastBin = bins.get(bins.size() - 1);
        lastBin[0] += expected;
        lastBin[1] += observed;
      }
    }
    double statistic = 0;
    for (double[] bin : bins) {
      statistic += (bin[1] - bin[0]) * (bin[1] - bin[0]) / bin[0];
    }
    return new double[] {statistic, bins.size()};
  }

  /** The 0.999 quantile of chi-square with df degrees of freedom, by Wilson and Hilferty. */
  private static double chiSquareQuantile999(int df) {
    double z = 3.090232306167813;  // the standard normal's 0.999 quantile
    double a = 2.0 / (9.0 * df);
    return df * Math.pow(1 - a + z * Math.sqrt(a), 3);
  }
}
