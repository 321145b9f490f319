package org.sparkllm.backend.megakernel;

/**
 * The megakernel's instructions (codes shared with mk_common.cuh). Each has a phase: its position in
 * the forward pass, {@code 5 · layer + stage}, the LM head last. Streams are ordered by phase and a
 * wait only names counters of earlier phases, which is what keeps the persistent kernel free of
 * deadlock.
 */
public enum Opcode {
  /** RMSNorm (attention norm) + q/k/v matvec + RoPE + K/V appended to the cache. */
  QKV(1, 0, Matrix.QKV),
  /** One KV split of up to {@link StreamBuilder#MAX_HEADS} query heads of one row; the last split merges. */
  ATTENTION(2, 1, null),
  /** Output projection added into the residual stream (layer 0: into the embedding row). */
  O_PROJ(3, 2, Matrix.O_PROJ),
  /** RMSNorm (MLP norm) + gate/up matvec + SiLU(gate) · up. */
  GATE_UP(4, 3, Matrix.GATE_UP),
  /** Down projection added into the residual stream. */
  DOWN(5, 4, Matrix.DOWN),
  /** Final RMSNorm + logits + argmax per block; the last block picks each row's token. */
  LM_HEAD(6, 0, Matrix.LM_HEAD);

  static final int STAGES = 5;

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

  /** The matrix it streams; null for attention, which reads the KV cache instead. */
  public Matrix matrix() {
    return matrix;
  }

  public int phase(int layer, int layers) {
    return this == LM_HEAD ? STAGES * layers : STAGES * layer + stage;
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
