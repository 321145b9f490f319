package org.sparkllm.backend.cpu;

import org.sparkllm.model.LlamaConfig;
import org.sparkllm.safetensors.ModelTensors;

/**
 * All weights as float32 arrays in Hugging Face layout: a linear layer's weight is {@code [out][in]}
 * row-major, so output feature {@code o} is the dot product of the input with row {@code o}.
 */
record CpuWeights(float[] embedding, Layer[] layers, float[] finalNorm, float[] lmHead) {

  record Layer(
      float[] attentionNorm,
      float[] wq,
      float[] wk,
      float[] wv,
      float[] wo,
      float[] mlpNorm,
      float[] wGate,
      float[] wUp,
      float[] wDown) {}

  static CpuWeights load(LlamaConfig c, ModelTensors tensors) {
    int h = c.hiddenSize();
    float[] embedding = tensors.readFloats("model.embed_tokens.weight", c.vocabSize(), h);
    Layer[] layers = new Layer[c.numLayers()];
    for (int i = 0; i < layers.length; i++) {
      String p = "model.layers." + i + ".";
      layers[i] =
          new Layer(
              tensors.readFloats(p + "input_layernorm.weight", h),
              tensors.readFloats(p + "self_attn.q_proj.weight", c.qDim(), h),
              tensors.readFloats(p + "self_attn.k_proj.weight", c.kvDim(), h),
              tensors.readFloats(p + "self_attn.v_proj.weight", c.kvDim(), h),
              tensors.readFloats(p + "self_attn.o_proj.weight", h, c.qDim()),
              tensors.readFloats(p + "post_attention_layernorm.weight", h),
              tensors.readFloats(p + "mlp.gate_proj.weight", c.intermediateSize(), h),
              tensors.readFloats(p + "mlp.up_proj.weight", c.intermediateSize(), h),
              tensors.readFloats(p + "mlp.down_proj.weight", h, c.intermediateSize()));
    }
    float[] finalNorm = tensors.readFloats("model.norm.weight", h);
    float[] lmHead =
        c.tieWordEmbeddings() ? embedding : tensors.readFloats("lm_head.weight", c.vocabSize(), h);
    return new CpuWeights(embedding, layers, finalNorm, lmHead);
  }
}
