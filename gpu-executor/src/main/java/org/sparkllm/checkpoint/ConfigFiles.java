package org.sparkllm.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.model.RopeScaling;

/**
 * Writes config.json and generation_config.json with the keys, in the (alphabetical) order, that
 * Hugging Face writes for Llama 3.2, so the files load in transformers as well as in this engine.
 */
final class ConfigFiles {
  private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private ConfigFiles() {}

  static void writeConfig(Path dir, LlamaConfig config) throws IOException {
    ObjectNode json = MAPPER.createObjectNode();
    json.putArray("architectures").add("LlamaForCausalLM");
    json.put("attention_bias", false);
    json.put("attention_dropout", 0.0);
    json.put("bos_token_id", config.bosTokenId());
    Arrays.stream(config.eosTokenIds()).forEach(json.putArray("eos_token_id")::add);
    json.put("head_dim", config.headDim());
    json.put("hidden_act", "silu");
    json.put("hidden_size", config.hiddenSize());
    json.put("initializer_range", 0.02);
    json.put("intermediate_size", config.intermediateSize());
    json.put("max_position_embeddings", config.maxPositionEmbeddings());
    json.put("mlp_bias", false);
    json.put("model_type", "llama");
    json.put("num_attention_heads", config.numHeads());
    json.put("num_hidden_layers", config.numLayers());
    json.put("num_key_value_heads", config.numKvHeads());
    json.put("pretraining_tp", 1);
    json.put("rms_norm_eps", config.rmsNormEps());
    RopeScaling scaling = config.ropeScaling();
    if (scaling == null) {
      json.putNull("rope_scaling");
    } else {
      ObjectNode rope = json.putObject("rope_scaling");
      rope.put("factor", scaling.factor());
      rope.put("high_freq_factor", scaling.highFreqFactor());
      rope.put("low_freq_factor", scaling.lowFreqFactor());
      rope.put("original_max_position_embeddings", scaling.originalMaxPositionEmbeddings());
      rope.put("rope_type", "llama3");
    }
    json.put("rope_theta", config.ropeTheta());
    json.put("tie_word_embeddings", config.tieWordEmbeddings());
    json.put("torch_dtype", "bfloat16");
    json.put("use_cache", true);
    json.put("vocab_size", config.vocabSize());
    MAPPER.writeValue(dir.resolve("config.json").toFile(), json);
  }

  /** The sampling defaults of the Llama 3.2 Instruct models. */
  static void writeGenerationConfig(Path dir, int bosTokenId, int[] eosTokenIds) throws IOException {
    ObjectNode json = MAPPER.createObjectNode();
    json.put("bos_token_id", bosTokenId);
    json.put("do_sample", true);
    Arrays.stream(eosTokenIds).forEach(json.putArray("eos_token_id")::add);
    json.put("temperature", 0.6);
    json.put("top_p", 0.9);
    MAPPER.writeValue(dir.resolve("generation_config.json").toFile(), json);
  }
}
