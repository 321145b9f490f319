package org.sparkllm.checkpoint;

import java.util.ArrayList;
import java.util.List;
import org.sparkllm.model.LlamaConfig;

/** The tensors of a Hugging Face LlamaForCausalLM checkpoint, in the order HF writes them. */
final class LlamaWeightLayout {
  /** Hugging Face's initializer_range for Llama. */
  private static final double HF_INIT_STD = 0.02;
  private static final double NORM_WEIGHT_STD = 0.1;
  private static final double TINY_EMBEDDING_STD = 0.15;

  private LlamaWeightLayout() {}

  /**
   * @param tiny scale weights so activations keep unit size through the layers (std 1/sqrt(in) for
   *     linears) and logits have a spread of about 1.7 (embedding std 0.15): peaked enough that
   *     greedy output is stable, flat enough that seeds give different samples. With embedding
   *     std 1 and tied embeddings, each token's own row dominates and the model repeats one token.
   */
  static List<PlannedTensor> tensors(LlamaConfig config, boolean tiny) {
    long hidden = config.hiddenSize();
    long vocab = config.vocabSize();
    long inter = config.intermediateSize();
    List<PlannedTensor> tensors = new ArrayList<>();
    tensors.add(new PlannedTensor("model.embed_tokens.weight", new long[] {vocab, hidden}, 0, tiny ? TINY_EMBEDDING_STD : HF_INIT_STD));
    for (int layer = 0; layer < config.numLayers(); layer++) {
      String prefix = "model.layers." + layer + ".";
      tensors.add(norm(prefix + "input_layernorm.weight", hidden));
      tensors.add(linear(prefix + "self_attn.q_proj.weight", config.qDim(), hidden, tiny));
      tensors.add(linear(prefix + "self_attn.k_proj.weight", config.kvDim(), hidden, tiny));
      tensors.add(linear(prefix + "self_attn.v_proj.weight", config.kvDim(), hidden, tiny));
      tensors.add(linear(prefix + "self_attn.o_proj.weight", hidden, config.qDim(), tiny));
      tensors.add(norm(prefix + "post_attention_layernorm.weight", hidden));
      tensors.add(linear(prefix + "mlp.gate_proj.weight", inter, hidden, tiny));
      tensors.add(linear(prefix + "mlp.up_proj.weight", inter, hidden, tiny));
      tensors.add(linear(prefix + "mlp.down_proj.weight", hidden, inter, tiny));
    }
    tensors.add(norm("model.norm.weight", hidden));
    if (!config.tieWordEmbeddings()) {
      tensors.add(linear("lm_head.weight", vocab, hidden, tiny));
    }
    return tensors;
  }

  private static PlannedTensor linear(String name, long out, long in, boolean tiny) {
    return new PlannedTensor(name, new long[] {out, in}, 0, tiny ? 1 / Math.sqrt(in) : HF_INIT_STD);
  }

  /** RMSNorm weights near 1, jittered so a backend that ignores them is caught. */
  private static PlannedTensor norm(String name, long hidden) {
    return new PlannedTensor(name, new long[] {hidden}, 1, NORM_WEIGHT_STD);
  }
}
