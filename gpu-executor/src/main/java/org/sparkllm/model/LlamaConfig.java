package org.sparkllm.model;

import java.nio.file.Path;

/**
 * The architecture of a Llama-family model, as read from a Hugging Face {@code config.json}.
 *
 * @param ropeScaling null when the model uses plain RoPE
 * @param bosTokenId -1 when config.json names none
 * @param eosTokenIds possibly empty; generation_config.json may add more
 */
public record LlamaConfig(
    int hiddenSize,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int headDim,
    int intermediateSize,
    int vocabSize,
    int maxPositionEmbeddings,
    double rmsNormEps,
    double ropeTheta,
    RopeScaling ropeScaling,
    boolean tieWordEmbeddings,
    int bosTokenId,
    int[] eosTokenIds) {

  /** Width of the key (and value) projection: all KV heads together. */
  public int kvDim() {
    return numKvHeads * headDim;
  }

  /** Width of the query projection: all query heads together. */
  public int qDim() {
    return numHeads * headDim;
  }

  /**
   * Reads and validates {@code dir/config.json}.
   *
   * @throws ModelLoadException naming the file and the field when the file is missing, malformed, or
   *     describes an architecture this engine does not run
   */
  public static LlamaConfig read(Path dir) {
    return LlamaConfigReader.read(dir.resolve("config.json"));
  }
}
