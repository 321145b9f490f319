package org.sparkllm.model;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Parses and validates config.json. The bounds below are far above any real Llama but low enough that
 * a lying config can never make the engine allocate more memory than a machine has: every buffer the
 * engine sizes from these numbers stays addressable.
 */
final class LlamaConfigReader {
  static final int MAX_HIDDEN_SIZE = 65_536;
  static final int MAX_LAYERS = 1024;
  static final int MAX_HEADS = 1024;
  static final int MAX_HEAD_DIM = 1024;
  static final int MAX_INTERMEDIATE_SIZE = 1 << 20;
  static final int MAX_VOCAB_SIZE = 1 << 22;
  static final int MAX_POSITIONS = 1 << 24;
  /** Bounds heads × head_dim, the width of the query projection. */
  static final int MAX_PROJECTION_WIDTH = 1 << 17;

  private static final double DEFAULT_ROPE_THETA = 10_000.0;

  private LlamaConfigReader() {}

  static LlamaConfig read(Path configJson) {
    JsonConfigFile json = JsonConfigFile.parse(configJson);
    checkArchitecture(json);
    checkUnsupportedFeatures(json);

    int hidden = json.requiredInt("hidden_size", 1, MAX_HIDDEN_SIZE);
    int layers = json.requiredInt("num_hidden_layers", 1, MAX_LAYERS);
    int heads = json.requiredInt("num_attention_heads", 1, MAX_HEADS);
    int intermediate = json.requiredInt("intermediate_size", 1, MAX_INTERMEDIATE_SIZE);
    int vocab = json.requiredInt("vocab_size", 1, MAX_VOCAB_SIZE);
    double rmsNormEps = json.requiredDouble("rms_norm_eps", 0.0, 1.0);
    int maxPositions = json.requiredInt("max_position_embeddings", 1, MAX_POSITIONS);

    int kvHeads = json.optionalInt("num_key_value_heads", heads, 1, MAX_HEADS);
    if (heads % kvHeads != 0) {
      throw json.invalid("num_key_value_heads", "must divide num_attention_heads = " + heads);
    }
    int headDim = readHeadDim(json, hidden, heads);
    if ((long) heads * headDim > MAX_PROJECTION_WIDTH) {
      throw json.invalid(
          "num_attention_heads",
          "times head_dim = " + headDim + " must be at most " + MAX_PROJECTION_WIDTH);
    }

    RopeSettings rope = RopeSettings.read(json, DEFAULT_ROPE_THETA);
    boolean tied = json.optionalBoolean("tie_word_embeddings", false);
    int bos = json.optionalInt("bos_token_id", -1, 0, vocab - 1);
    int[] eos = json.optionalIdList("eos_token_id", vocab);

    return new LlamaConfig(
        hidden, layers, heads, kvHeads, headDim, intermediate, vocab, maxPositions, rmsNormEps,
        rope.theta(), rope.scaling(), tied, bos, eos);
  }

  private static void checkArchitecture(JsonConfigFile json) {
    String[] architectures = json.optionalStrings("architectures");
    if (architectures != null) {
      if (!Arrays.asList(architectures).contains("LlamaForCausalLM")) {
        throw json.invalid("architectures", "must contain \"LlamaForCausalLM\"");
      }
      return;
    }
    String modelType = json.optionalString("model_type");
    if (modelType == null) {
      throw json.invalid(
          "architectures",
          "is missing and so is \"model_type\" (expected [\"LlamaForCausalLM\"] or \"llama\")");
    }
    if (!modelType.equals("llama")) {
      throw json.invalid("model_type", "must be \"llama\" when \"architectures\" is absent");
    }
  }

  /** Llama variants this engine's kernels do not implement are rejected here rather than run wrong. */
  private static void checkUnsupportedFeatures(JsonConfigFile json) {
    String activation = json.optionalString("hidden_act");
    if (activation != null && !activation.equals("silu")) {
      throw json.invalid("hidden_act", "must be \"silu\"");
    }
    for (String bias : new String[] {"attention_bias", "mlp_bias"}) {
      if (json.optionalBoolean(bias, false)) {
        throw json.invalid(bias, "must be false (biases are not supported)");
      }
    }
  }

  private static int readHeadDim(JsonConfigFile json, int hidden, int heads) {
    if (json.has("head_dim")) {
      return json.optionalInt("head_dim", 0, 1, MAX_HEAD_DIM);
    }
    if (hidden % heads != 0) {
      throw json.invalid(
          "num_attention_heads", "must divide hidden_size = " + hidden + " when head_dim is absent");
    }
    int headDim = hidden / heads;
    if (headDim > MAX_HEAD_DIM) {
      throw json.invalid(
          "num_attention_heads",
          "gives head_dim = hidden_size / num_attention_heads = " + headDim
              + ", more than " + MAX_HEAD_DIM);
    }
    return headDim;
  }
}
