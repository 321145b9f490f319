package org.sparkllm.backend.cpu;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;
import org.sparkllm.backend.Backend;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.KvCache;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.model.RopeFrequencies;
import org.sparkllm.safetensors.ModelTensors;

/**
 * The plain-Java float32 Llama forward pass: the default where there is no GPU and the oracle every
 * GPU kernel is checked against. Written for obviousness first; it parallelises over output features
 * and attention heads, never over a reduction, so results do not depend on the thread count.
 */
public final class CpuBackend implements Backend {
  private final LlamaConfig config;
  private final CpuWeights weights;
  private final CpuKvCache kvCache;
  private final double[] inverseFrequencies;
  private final ForkJoinPool pool;
  private final Set<Bf16Rounding> roundings;

  CpuBackend(
      LlamaConfig config, CpuWeights weights, CpuKvCache kvCache, int threads, Set<Bf16Rounding> roundings) {
    this.config = config;
    this.weights = weights;
    this.kvCache = kvCache;
    this.inverseFrequencies = RopeFrequencies.inverseFrequencies(config);
    this.pool = new ForkJoinPool(threads);
    this.roundings = EnumSet.noneOf(Bf16Rounding.class);
    this.roundings.addAll(roundings);
  }

  /**
   * Loads the weights (converted to float32) and allocates a KV cache of {@code kvCacheTokens}.
   *
   * @param threads worker threads for the matrix products; results do not depend on it
   */
  public static CpuBackend load(
      LlamaConfig config,
      ModelTensors tensors,
      int maxSlots,
      int kvCacheTokens,
      int pageTokens,
      int threads) {
    return load(config, tensors, maxSlots, kvCacheTokens, pageTokens, threads, Set.of());
  }

  /**
   * As {@link #load}, but rounding the activations in {@code roundings} to bf16 where the CUDA backend
   * does: a model of the GPU's precision, to measure what each rounding costs. Tokens of chunks longer
   * than one count as prefill (the CUDA backend runs them through its prefill attention).
   */
  public static CpuBackend load(
      LlamaConfig config,
      ModelTensors tensors,
      int maxSlots,
      int kvCacheTokens,
      int pageTokens,
      int threads,
      Set<Bf16Rounding> roundings) {
    CpuWeights weights = CpuWeights.load(config, tensors);
    return new CpuBackend(
        config, weights, new CpuKvCache(config, maxSlots, kvCacheTokens, pageTokens), threads, roundings);
  }

  @Override
  public String name() {
    return "cpu";
  }

  @Override
  public LlamaConfig config() {
    return config;
  }

  @Override
  public KvCache kvCache() {
    return kvCache;
  }

  @Override
  public float[][] forward(ForwardBatch batch) {
    int n = batch.totalTokens();
    int[] slots = new int[n];
    int[] positions = new int[n];
    int[] tokens = new int[n];
    boolean[] prefill = new boolean[n];
    int t = 0;
    for (ForwardBatch.Chunk chunk : batch.chunks()) {
      for (int i = 0; i < chunk.tokens().length; i++, t++) {
        prefill[t] = chunk.tokens().length > 1;
        slots[t] = chunk.slot();
        positions[t] = chunk.startPosition() + i;
        tokens[t] = chunk.tokens()[i];
      }
    }
    float[] x = embed(tokens);
    float[][] rope = ropeTables(positions);
    for (int layer = 0; layer < config.numLayers(); layer++) {
      attentionBlock(layer, x, n, slots, positions, prefill, rope[0], rope[1]);
      mlpBlock(weights.layers()[layer], x, n);
    }
    return logits(batch.chunks(), x);
  }

  private float[] embed(int[] tokens) {
    int h = config.hiddenSize();
    float[] x = new float[tokens.length * h];
    for (int t = 0; t < tokens.length; t++) {
      if (tokens[t] < 0 || tokens[t] >= config.vocabSize()) {
        throw new IllegalArgumentException(
            "token id " + tokens[t] + " is outside the vocabulary [0, " + config.vocabSize() + ")");
      }
      System.arraycopy(weights.embedding(), tokens[t] * h, x, t * h, h);
    }
    return x;
  }

  /** cos and sin of every (token, frequency) pair, shared by all layers and heads. */
  private float[][] ropeTables(int[] positions) {
    int half = config.headDim() / 2;
    float[] cos = new float[positions.length * half];
    float[] sin = new float[positions.length * half];
    for (int t = 0; t < positions.length; t++) {
      for (int i = 0; i < half; i++) {
        double angle = positions[t] * inverseFrequencies[i];
        cos[t * half + i] = (float) Math.cos(angle);
        sin[t * half + i] = (float) Math.sin(angle);
      }
    }
    return new float[][] {cos, sin};
  }

  private void attentionBlock(
      int layer, float[] x, int n, int[] slots, int[] positions, boolean[] prefill, float[] cos, float[] sin) {
    CpuWeights.Layer w = weights.layers()[layer];
    int h = config.hiddenSize();
    int headDim = config.headDim();
    int qDim = config.qDim();
    int kvDim = config.kvDim();
    int half = headDim / 2;
    float[] normed = new float[n * h];
    parallelFor(n, t -> CpuMath.rmsNorm(x, w.attentionNorm(), (float) config.rmsNormEps(), t, h, normed));
    Bf16Rounding.ATTENTION_NORM.apply(roundings, normed, 0, normed.length);
    float[] q = matmul(normed, n, h, w.wq(), qDim);
    float[] k = matmul(normed, n, h, w.wk(), kvDim);
    float[] v = matmul(normed, n, h, w.wv(), kvDim);
    for (int t = 0; t < n; t++) {
      for (int head = 0; head < config.numHeads(); head++) {
        CpuMath.rope(q, t * qDim + head * headDim, headDim, cos, sin, t * half);
      }
      for (int head = 0; head < config.numKvHeads(); head++) {
        CpuMath.rope(k, t * kvDim + head * headDim, headDim, cos, sin, t * half);
      }
      Bf16Rounding.QUERY.apply(roundings, q, t * qDim, (t + 1) * qDim);
      Bf16Rounding.KEY.apply(roundings, k, t * kvDim, (t + 1) * kvDim);
      Bf16Rounding.VALUE.apply(roundings, v, t * kvDim, (t + 1) * kvDim);
      float[] page = kvCache.page(slots[t], positions[t]);
      System.arraycopy(k, t * kvDim, page, kvCache.keyOffset(layer, positions[t]), kvDim);
      System.arraycopy(v, t * kvDim, page, kvCache.valueOffset(layer, positions[t]), kvDim);
    }
    float[] attended = new float[n * qDim];
    int heads = config.numHeads();
    parallelFor(
        n * heads,
        i -> attendOneHead(layer, q, i / heads, i % heads, slots, positions, prefill, attended));
    Bf16Rounding.ATTENTION_OUTPUT.apply(roundings, attended, 0, attended.length);
    float[] projected = matmul(attended, n, qDim, w.wo(), h);
    for (int i = 0; i < x.length; i++) {
      x[i] += projected[i];
    }
  }

  /**
   * Causal softmax attention of one query head of one token over positions 0..its own, reading keys
   * and values from the cache (grouped-query: query head {@code head} uses KV head
   * {@code head / (heads / kvHeads)}).
   */
  private void attendOneHead(
      int layer, float[] q, int t, int head, int[] slots, int[] positions, boolean[] prefill, float[] out) {
    int headDim = config.headDim();
    int kvHead = head / (config.numHeads() / config.numKvHeads());
    int qOffset = t * config.qDim() + head * headDim;
    int length = positions[t] + 1;
    float scale = (float) (1.0 / Math.sqrt(headDim));
    float[] scores = new float[length];
    float max = Float.NEGATIVE_INFINITY;
    for (int p = 0; p < length; p++) {
      float[] page = kvCache.page(slots[t], p);
      int kOffset = kvCache.keyOffset(layer, p) + kvHead * headDim;
      scores[p] = CpuMath.dot(q, qOffset, page, kOffset, headDim) * scale;
      max = Math.max(max, scores[p]);
    }
    float sum = 0;
    for (int p = 0; p < length; p++) {
      scores[p] = (float) Math.exp(scores[p] - max);
      sum += scores[p];
    }
    if (prefill[t]) {
      // The prefill kernel multiplies bf16 weights with V but divides by the sum of the fp32 ones.
      Bf16Rounding.PREFILL_PROBABILITIES.apply(roundings, scores, 0, length);
    }
    for (int p = 0; p < length; p++) {
      float weight = scores[p] / sum;
      float[] page = kvCache.page(slots[t], p);
      int vOffset = kvCache.valueOffset(layer, p) + kvHead * headDim;
      for (int d = 0; d < headDim; d++) {
        out[qOffset + d] += weight * page[vOffset + d];
      }
    }
  }

  private void mlpBlock(CpuWeights.Layer w, float[] x, int n) {
    int h = config.hiddenSize();
    int inter = config.intermediateSize();
    float[] normed = new float[n * h];
    parallelFor(n, t -> CpuMath.rmsNorm(x, w.mlpNorm(), (float) config.rmsNormEps(), t, h, normed));
    Bf16Rounding.MLP_NORM.apply(roundings, normed, 0, normed.length);
    float[] gate = matmul(normed, n, h, w.wGate(), inter);
    float[] up = matmul(normed, n, h, w.wUp(), inter);
    for (int i = 0; i < gate.length; i++) {
      gate[i] = CpuMath.silu(gate[i]) * up[i];
    }
    Bf16Rounding.SWIGLU_OUTPUT.apply(roundings, gate, 0, gate.length);
    float[] down = matmul(gate, n, inter, w.wDown(), h);
    for (int i = 0; i < x.length; i++) {
      x[i] += down[i];
    }
  }

  private float[][] logits(List<ForwardBatch.Chunk> chunks, float[] x) {
    int h = config.hiddenSize();
    int wanted = (int) chunks.stream().filter(ForwardBatch.Chunk::wantLogits).count();
    float[] lastHidden = new float[wanted * h];
    int row = 0;
    int end = 0;
    for (ForwardBatch.Chunk chunk : chunks) {
      end += chunk.tokens().length;
      if (chunk.wantLogits()) {
        System.arraycopy(x, (end - 1) * h, lastHidden, row * h, h);
        row++;
      }
    }
    float[] normed = new float[wanted * h];
    for (int r = 0; r < wanted; r++) {
      CpuMath.rmsNorm(lastHidden, weights.finalNorm(), (float) config.rmsNormEps(), r, h, normed);
    }
    Bf16Rounding.FINAL_NORM.apply(roundings, normed, 0, normed.length);
    float[] flat = matmul(normed, wanted, h, weights.lmHead(), config.vocabSize());
    float[][] out = new float[wanted][];
    for (int r = 0; r < wanted; r++) {
      out[r] = java.util.Arrays.copyOfRange(flat, r * config.vocabSize(), (r + 1) * config.vocabSize());
    }
    return out;
  }

  /**
   * {@code y[t][o] = dot(x[t], w[o])} for n rows of x: split over output features in blocks, each
   * weight row reused for all rows of x while it is in cache.
   */
  private float[] matmul(float[] x, int n, int in, float[] w, int out) {
    float[] y = new float[n * out];
    int block = 16;
    parallelFor(
        (out + block - 1) / block,
        b -> {
          int end = Math.min(out, (b + 1) * block);
          for (int o = b * block; o < end; o++) {
            for (int t = 0; t < n; t++) {
              y[t * out + o] = CpuMath.dot(x, t * in, w, o * in, in);
            }
          }
        });
    return y;
  }

  private void parallelFor(int count, IntConsumer body) {
    pool.submit(() -> IntStream.range(0, count).parallel().forEach(body)).join();
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
