package org.sparkllm.backend.megakernel;

import java.nio.ByteBuffer;
import org.sparkllm.backend.cuda.SharedDevice;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.cuda.PinnedHostBuffer;
import org.sparkllm.kvcache.VAttentionKvCache;

/**
 * struct Model and its array of struct Layer (mk_common.cuh) in device memory, written once at load:
 * every field is 8 bytes, in the order of the C declarations. The kernel copies the Model into shared
 * memory when it starts.
 */
final class ModelDescriptor implements AutoCloseable {
  static final int MODEL_BYTES = 27 * 8;
  static final int LAYER_BYTES = 8 * 8;

  private final DeviceBuffer device;

  ModelDescriptor(CudaContext context, CudaStream stream, ModelDims d, double eps, SharedDevice shared,
      MegakernelWeights tiles, MegakernelBuffers buffers) {
    int bytes = MODEL_BYTES + LAYER_BYTES * d.layers();
    device = context.allocate(bytes);
    VAttentionKvCache kv = shared.kvCache();
    try (PinnedHostBuffer host = context.allocatePinned(bytes)) {
      ByteBuffer b = host.buffer();
      b.putLong(d.hidden()).putLong(d.heads()).putLong(d.kvHeads()).putLong(d.headDim()).putLong(d.intermediate())
          .putLong(d.vocab()).putLong(d.layers()).putLong(kv.slotStrideBytes());
      b.putDouble(eps);
      b.putLong(shared.embedding()).putLong(shared.finalNorm()).putLong(tiles.lmHead().address())
          .putLong(shared.ropeCos()).putLong(shared.ropeSin()).putLong(device.address() + MODEL_BYTES);
      b.putLong(buffers.residual.address()).putLong(buffers.query.address()).putLong(buffers.attention.address())
          .putLong(buffers.mlp.address()).putLong(buffers.logits.address())
          .putLong(buffers.attentionPartialO.address()).putLong(buffers.attentionPartialMl.address())
          .putLong(buffers.lmPartialValue.address()).putLong(buffers.lmPartialIndex.address())
          .putLong(buffers.normed.address()).putLong(buffers.residualPartial.address())
          .putLong(buffers.flaggedResidual.address());
      for (int l = 0; l < d.layers(); l++) {
        SharedDevice.LayerWeights w = shared.layers().get(l);
        MegakernelWeights.Layer t = tiles.layer(l);
        b.putLong(w.attentionNorm()).putLong(t.qkv().address()).putLong(t.output().address())
            .putLong(w.mlpNorm()).putLong(t.gateUp().address()).putLong(t.down().address())
            .putLong(kv.keyAddress(l)).putLong(kv.valueAddress(l));
      }
      if (b.position() != bytes) {
        throw new IllegalStateException("descriptor is " + b.position() + " bytes, expected " + bytes);
      }
      device.copyFrom(host, bytes, stream);
      stream.synchronize();
    }
  }

  long address() {
    return device.address();
  }

  @Override
  public void close() {
    device.close();
  }
}
