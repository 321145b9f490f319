package org.sparkllm.backend.cuda;

import java.nio.ByteBuffer;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.cuda.PinnedHostBuffer;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.model.RopeFrequencies;

/**
 * cos and sin of position * inverse_frequency for every position up to the context limit, computed
 * once on the host in double precision exactly as the CPU backend does (llama3 scaling included), so
 * the GPU rotates by the same angles.
 */
final class RopeTables implements AutoCloseable {
  private final DeviceBuffer cos;
  private final DeviceBuffer sin;

  RopeTables(CudaContext context, CudaStream stream, LlamaConfig config, int positions) {
    double[] inverse = RopeFrequencies.inverseFrequencies(config);
    int half = config.headDim() / 2;
    long bytes = 4L * positions * half;
    this.cos = context.allocate(bytes);
    this.sin = context.allocate(bytes);
    try (PinnedHostBuffer cosHost = context.allocatePinned(bytes);
        PinnedHostBuffer sinHost = context.allocatePinned(bytes)) {
      ByteBuffer c = cosHost.buffer();
      ByteBuffer s = sinHost.buffer();
      for (int p = 0; p < positions; p++) {
        for (int i = 0; i < half; i++) {
          double angle = p * inverse[i];
          c.putFloat((float) Math.cos(angle));
          s.putFloat((float) Math.sin(angle));
        }
      }
      cos.copyFrom(cosHost, bytes, stream);
      sin.copyFrom(sinHost, bytes, stream);
      stream.synchronize();
    }
  }

  long cos() {
    return cos.address();
  }

  long sin() {
    return sin.address();
  }

  @Override
  public void close() {
    cos.close();
    sin.close();
  }
}
