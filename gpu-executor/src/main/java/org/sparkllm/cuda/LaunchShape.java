package org.sparkllm.cuda;

/** Grid and block dimensions and dynamic shared memory of one kernel launch. */
public record LaunchShape(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes) {

  public LaunchShape {
    if (gridX < 1 || gridY < 1 || gridZ < 1 || blockX < 1 || blockY < 1 || blockZ < 1 || sharedBytes < 0) {
      throw new IllegalArgumentException("invalid launch shape " + this);
    }
  }

  /** A 2-D grid of 1-D blocks, no dynamic shared memory. */
  public static LaunchShape grid2d(int gridX, int gridY, int threads) {
    return new LaunchShape(gridX, gridY, 1, threads, 1, 1, 0);
  }
}
