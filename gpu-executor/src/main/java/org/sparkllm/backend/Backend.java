package org.sparkllm.backend;

import java.util.List;
import org.sparkllm.model.LlamaConfig;

/**
 * Runs the model. The engine owns exactly one backend and calls it from its single step thread, so an
 * implementation needs no locking of its own. The CPU backend is the exact reference every GPU
 * backend is tested against.
 */
public interface Backend extends AutoCloseable {

  /** Short name for logs and metrics: "cpu", "cuda", "megakernel". */
  String name();

  LlamaConfig config();

  /** The KV cache whose capacity the scheduler admits and preempts against. */
  KvCache kvCache();

  /**
   * Appends every chunk's tokens to its slot's KV cache (capacity must already be ensured) and returns
   * the logits of the last token of each chunk that asks for them, in chunk order.
   *
   * @return one {@code float[vocabSize]} per chunk with {@code wantLogits}
   */
  float[][] forward(ForwardBatch batch);

  /** Whether {@link #forwardAndSample} chooses tokens on the device (only their ids reach the host). */
  default boolean samplesOnDevice() {
    return false;
  }

  /**
   * Like {@link #forward}, then samples one token per chunk with {@code wantLogits}, in chunk order,
   * with that chunk's entry of {@code sampling}.
   */
  default int[] forwardAndSample(ForwardBatch batch, List<Sampling> sampling) {
    throw new UnsupportedOperationException(name() + " backend samples on the host");
  }

  /**
   * Called once by the engine's step thread before its first step: a backend bound to a thread (a
   * CUDA context) moves to it; every later call comes from that thread.
   */
  default void bindToCurrentThread() {}

  @Override
  void close();
}
