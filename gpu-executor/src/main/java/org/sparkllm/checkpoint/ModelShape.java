package org.sparkllm.checkpoint;

import java.util.Arrays;
import java.util.stream.Collectors;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.model.RopeScaling;

/**
 * Architectures the checkpoint writer can generate: two tiny ones for fast tests and the published
 * Llama 3.x sizes, with the config values of the real Hugging Face models.
 */
public enum ModelShape {
  TINY("tiny", 128, 4, 4, 2, 32, 384, 512, 2048, null, true, true),
  TINY_LLAMA3ROPE(
      "tiny-llama3rope", 128, 4, 4, 2, 32, 384, 512, 2048, new RopeScaling(8, 1, 4, 64), false, true),
  LLAMA_3_2_1B(
      "llama-3.2-1b", 2048, 16, 32, 8, 64, 8192, 128256, 131072,
      new RopeScaling(32, 1, 4, 8192), true, false),
  /** Not a published model: 3 layers, hidden 1536, 12 heads, 4 KV heads, head_dim 128, untied (megakernel tests). */
  ODD_3_LAYERS(
      "odd-3l-1536", 1536, 3, 12, 4, 128, 4096, 32000, 8192, null, false, false),
  LLAMA_3_2_3B(
      "llama-3.2-3b", 3072, 28, 24, 8, 128, 8192, 128256, 131072,
      new RopeScaling(32, 1, 4, 8192), true, false),
  LLAMA_3_1_8B(
      "llama-3.1-8b", 4096, 32, 32, 8, 128, 14336, 128256, 131072,
      new RopeScaling(8, 1, 4, 8192), false, false);

  private static final double RMS_NORM_EPS = 1e-5;
  private static final double ROPE_THETA = 500_000;

  private final String cliName;
  private final int hidden;
  private final int layers;
  private final int heads;
  private final int kvHeads;
  private final int headDim;
  private final int intermediate;
  private final int vocab;
  private final int maxPositions;
  private final RopeScaling ropeScaling;
  private final boolean tiedEmbeddings;
  private final boolean tiny;

  ModelShape(
      String cliName, int hidden, int layers, int heads, int kvHeads, int headDim, int intermediate,
      int vocab, int maxPositions, RopeScaling ropeScaling, boolean tiedEmbeddings, boolean tiny) {
    this.cliName = cliName;
    this.hidden = hidden;
    this.layers = layers;
    this.heads = heads;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.intermediate = intermediate;
    this.vocab = vocab;
    this.maxPositions = maxPositions;
    this.ropeScaling = ropeScaling;
    this.tiedEmbeddings = tiedEmbeddings;
    this.tiny = tiny;
  }

  /** The name used on the command line and in cache directory names, e.g. "llama-3.2-1b". */
  public String cliName() {
    return cliName;
  }

  public int vocabSize() {
    return vocab;
  }

  /**
   * Tiny shapes get weights scaled for well-spread logits, so tests of sampling and of backends
   * against each other see distinct tokens; the real sizes get Hugging Face's initializer.
   */
  public boolean isTiny() {
    return tiny;
  }

  /** The architecture with the tokenizer's special ids, as config.json will describe it. */
  public LlamaConfig config(int bosTokenId, int[] eosTokenIds) {
    return new LlamaConfig(
        hidden, layers, heads, kvHeads, headDim, intermediate, vocab, maxPositions, RMS_NORM_EPS,
        ROPE_THETA, ropeScaling, tiedEmbeddings, bosTokenId, eosTokenIds.clone());
  }

  public static ModelShape fromCliName(String name) {
    return Arrays.stream(values())
        .filter(shape -> shape.cliName.equals(name))
        .findFirst()
        .orElseThrow(
            () -> new IllegalArgumentException(
                "unknown shape \"" + name + "\"; known: "
                    + Arrays.stream(values()).map(ModelShape::cliName).collect(Collectors.joining(", "))));
  }
}
