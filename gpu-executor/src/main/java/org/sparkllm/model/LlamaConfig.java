package org.sparkllm.model;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

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

  /** Compares eosTokenIds by content: a record's generated equals compares arrays by identity. */
  @Override
  public boolean equals(Object other) {
    return other instanceof LlamaConfig that
        && hiddenSize == that.hiddenSize
        && numLayers == that.numLayers
        && numHeads == that.numHeads
        && numKvHeads == that.numKvHeads
        && headDim == that.headDim
        && intermediateSize == that.intermediateSize
        && vocabSize == that.vocabSize
        && maxPositionEmbeddings == that.maxPositionEmbeddings
        && Double.compare(rmsNormEps, that.rmsNormEps) == 0
        && Double.compare(ropeTheta, that.ropeTheta) == 0
        && Objects.equals(ropeScaling, that.ropeScaling)
        && tieWordEmbeddings == that.tieWordEmbeddings
        && bosTokenId == that.bosTokenId
        && Arrays.equals(eosTokenIds, that.eosTokenIds);
  }

  @Override
  public int hashCode() {
    return Objects.hash(
            hiddenSize, numLayers, numHeads, numKvHeads, headDim, intermediateSize, vocabSize,
            maxPositionEmbeddings, rmsNormEps, ropeTheta, ropeScaling, tieWordEmbeddings, bosTokenId)
        * 31
        + Arrays.hashCode(eosTokenIds);
  }

  /** Shows eosTokenIds' values rather than the array's identity. */
  @Override
  public String toString() {
    return "LlamaConfig[hiddenSize=" + hiddenSize + ", numLayers=" + numLayers + ", numHeads="
        + numHeads + ", numKvHeads=" + numKvHeads + ", headDim=" + headDim + ", intermediateSize="
        + intermediateSize + ", vocabSize=" + vocabSize + ", maxPositionEmbeddings="
        + maxPositionEmbeddings + ", rmsNormEps=" + rmsNormEps + ", ropeTheta=" + ropeTheta
        + ", ropeScaling=" + ropeScaling + ", tieWordEmbeddings=" + tieWordEmbeddings
        + ", bosTokenId=" + bosTokenId + ", eosTokenIds=" + Arrays.toString(eosTokenIds) + "]";
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
