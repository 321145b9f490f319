package org.sparkllm.backend.cpu;

import java.util.Set;
import org.sparkllm.safetensors.HalfFloats;

/**
 * The activations the CUDA backend stores as bf16 between kernels (its residual stream and every
 * accumulator stay fp32). The CPU backend can round any of them the same way, round to nearest even,
 * which turns it into a model of the GPU's precision: the error each rounding costs against the
 * float32 reference can then be measured on the CPU, one at a time, instead of guessed from the
 * GPU's total. Because a change of one bf16 ulp anywhere re-randomises the roundings after it, the
 * model predicts the size of the GPU's error, not its values.
 */
public enum Bf16Rounding {
  /** Attention RMSNorm output: the A operand of the q|k|v GEMM. */
  ATTENTION_NORM,
  /** q after RoPE, read by the attention kernels. */
  QUERY,
  /** k after RoPE, stored in the KV cache. */
  KEY,
  /** v, stored in the KV cache. */
  VALUE,
  /**
   * The unnormalised softmax weights of prefill attention, multiplied with V on tensor cores (their
   * sum, the divisor, stays fp32). Decode attention keeps them fp32.
   */
  PREFILL_PROBABILITIES,
  /** Attention output: the A operand of o_proj. */
  ATTENTION_OUTPUT,
  /** MLP RMSNorm output: the A operand of the gate|up GEMM. */
  MLP_NORM,
  /** silu(gate) * up: the A operand of down_proj. */
  SWIGLU_OUTPUT,
  /** Final RMSNorm output: the A operand of the LM head. */
  FINAL_NORM;

  /** Rounds {@code values[from..to)} to bf16 in place if {@code this} is one of {@code enabled}. */
  void apply(Set<Bf16Rounding> enabled, float[] values, int from, int to) {
    if (enabled.contains(this)) {
      for (int i = from; i < to; i++) {
        values[i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(values[i]));
      }
    }
  }
}
