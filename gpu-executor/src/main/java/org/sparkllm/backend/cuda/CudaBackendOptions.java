package org.sparkllm.backend.cuda;

/**
 * How the CUDA backend is sized.
 *
 * @param device CUDA device ordinal
 * @param maxSlots most sequences at once (KV-cache slots, and rows of a decode step)
 * @param maxBatchTokens most tokens in one step (activation buffers are sized for it)
 * @param maxContext longest sequence (the KV cache's per-slot reservation and the RoPE table)
 * @param kvMemoryFraction share of the device memory left after weights and activations that the
 *     KV-cache page pool takes
 * @param graphs replay decode steps from CUDA graphs captured per batch-size bucket; false launches
 *     every kernel every step (for comparison and debugging)
 */
public record CudaBackendOptions(int device, int maxSlots, int maxBatchTokens, int maxContext,
    double kvMemoryFraction, boolean graphs) {

  public CudaBackendOptions {
    if (device < 0 || maxSlots < 1 || maxBatchTokens < 1 || maxContext < 2
        || !(kvMemoryFraction > 0 && kvMemoryFraction < 1)) {
      throw new IllegalArgumentException("invalid CUDA backend options " + this);
    }
  }

  public CudaBackendOptions withGraphs(boolean on) {
    return new CudaBackendOptions(device, maxSlots, maxBatchTokens, maxContext, kvMemoryFraction, on);
  }
}
