package org.sparkllm.backend.megakernel;

/**
 * The weight matrices the megakernel streams, with their shapes ([rows, columns] = [outputs, inputs])
 * and where the instruction that consumes them takes its input from.
 */
public enum Matrix {
  /** Fused q/k/v, rows reordered by {@link TileLayout#qkvSourceRow}. */
  QKV,
  O_PROJ,
  /** Gate and up interleaved row by row (row 2j gate j, row 2j + 1 up j), as the CUDA backend stores it. */
  GATE_UP,
  DOWN,
  LM_HEAD;

  public int rows(ModelDims d) {
    return switch (this) {
      case QKV -> d.qkvRows();
      case O_PROJ, DOWN -> d.hidden();
      case GATE_UP -> 2 * d.intermediate();
      case LM_HEAD -> d.vocab();
    };
  }

  public int columns(ModelDims d) {
    return switch (this) {
      case QKV, GATE_UP, LM_HEAD -> d.hidden();
      case O_PROJ -> d.qDim();
      case DOWN -> d.intermediate();
    };
  }
}
