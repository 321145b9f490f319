package org.sparkllm.backend.megakernel;

/**
 * The megakernel's instructions (codes shared with mk_common.cuh). Each has a phase: its position in
 * the forward pass, {@code 7 · layer + stage}, the final norm, the LM head and sampling last. Streams are ordered by
 * phase and a wait only names counters of earlier phases, which is what keeps the persistent kernel free
 * of deadlock. The NORM phases exist only in buckets above {@link StreamBuilder#MAX_CUDA_CORE_ROWS} rows;
 * smaller buckets compute the norm inside QKV, GATE_UP and LM_HEAD.
 */
public enum Opcode {
  /** RMSNorm (attention norm) of one row into the normed buffer (layer 0: of its embedding, which seeds the residual). */
  NORM_ATTENTION(7, 0, null),
  /** (RMSNorm, below 16 rows) + q/k/v matvec + RoPE + K/V appended to the cache. */
  QKV(1, 1, Matrix.QKV),
  /** One KV split of up to {@link StreamBuilder#MAX_HEADS} query heads of one row; the last split merges. */
  ATTENTION(2, 2, null),
  /** Output projection added into the residual stream. */
  O_PROJ(3, 3, Matrix.O_PROJ),
  /** RMSNorm (MLP norm) of one row into the normed buffer. */
  NORM_MLP(8, 4, null),
  /** (RMSNorm, below 16 rows) + gate/up matvec + SiLU(gate) · up. */
  GATE_UP(4, 5, Matrix.GATE_UP),
  /** Down projection added into the residual stream. */
  DOWN(5, 6, Matrix.DOWN),
  /** Final RMSNorm of one row into the normed buffer. */
  NORM_FINAL(9, 0, null),
  /** (Final RMSNorm, below 16 rows) + logits + argmax per block; the last block picks greedy rows' tokens. */
  LM_HEAD(6, 1, Matrix.LM_HEAD),
  /** One row's token drawn from its logits (temperature, top-k, top-p, min-p); nothing for a greedy row. */
  SAMPLE(10, 2, null);

  static final int STAGES = 7;

  private final int code;
  private final int stage;
  private final Matrix matrix;

  Opcode(int code, int stage, Matrix matrix) {
    this.code = code;
    this.stage = stage;
    this.matrix = matrix;
  }

  public int code() {
    return code;
  }

  /** The matrix it streams; null for attention (it reads the KV cache), the norms and sampling. */
  public Matrix matrix() {
    return matrix;
  }

  public int phase(int layer, int layers) {
    return this == NORM_FINAL || this == LM_HEAD || this == SAMPLE ? STAGES * layers + stage : STAGES * layer + stage;
  }

  public boolean isNorm() {
    return this == NORM_ATTENTION || this == NORM_MLP || this == NORM_FINAL;
  }

  public static Opcode ofCode(int code) {
    for (Opcode op : values()) {
      if (op.code == code) {
        return op;
      }
    }
    throw new IllegalArgumentException("no opcode " + code);
  }
}
