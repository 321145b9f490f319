package org.sparkllm.backend.cuda;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.cuda.PinnedHostBuffer;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.safetensors.HalfFloats;
import org.sparkllm.safetensors.ModelTensors;

/**
 * The model's weights in bf16 on the device, in the layout the kernels read, made once at load:
 * q, k and v projections stacked into one [q + 2kv, hidden] matrix (one matmul per layer), and the
 * gate and up projections interleaved row by row (row 2j = gate j, row 2j + 1 = up j) so the matmul
 * epilogue sees both halves of SwiGLU in adjacent columns. Every other matrix keeps Hugging Face's
 * [out, in] layout.
 */
final class CudaWeights implements AutoCloseable {
  private static final long STAGING_BYTES = 64L << 20;

  record Layer(DeviceBuffer attentionNorm, DeviceBuffer qkv, DeviceBuffer output, DeviceBuffer mlpNorm,
      DeviceBuffer gateUp, DeviceBuffer down) {}

  private final DeviceBuffer embedding;
  private final Layer[] layers;
  private final DeviceBuffer finalNorm;
  private final DeviceBuffer lmHead;
  private final long bytes;

  private CudaWeights(DeviceBuffer embedding, Layer[] layers, DeviceBuffer finalNorm, DeviceBuffer lmHead,
      long bytes) {
    this.embedding = embedding;
    this.layers = layers;
    this.finalNorm = finalNorm;
    this.lmHead = lmHead;
    this.bytes = bytes;
  }

  static CudaWeights load(CudaContext context, CudaStream stream, LlamaConfig c, ModelTensors tensors) {
    try (Uploader up = new Uploader(context, stream)) {
      int h = c.hiddenSize();
      int inter = c.intermediateSize();
      DeviceBuffer embedding = up.matrix(tensors.readFloats("model.embed_tokens.weight", c.vocabSize(), h));
      Layer[] layers = new Layer[c.numLayers()];
      for (int i = 0; i < layers.length; i++) {
        String p = "model.layers." + i + ".";
        DeviceBuffer qkv = up.allocate((long) (c.qDim() + 2 * c.kvDim()) * h);
        long at = up.copy(qkv, 0, tensors.readFloats(p + "self_attn.q_proj.weight", c.qDim(), h));
        at = up.copy(qkv, at, tensors.readFloats(p + "self_attn.k_proj.weight", c.kvDim(), h));
        up.copy(qkv, at, tensors.readFloats(p + "self_attn.v_proj.weight", c.kvDim(), h));
        float[] gate = tensors.readFloats(p + "mlp.gate_proj.weight", inter, h);
        float[] upProj = tensors.readFloats(p + "mlp.up_proj.weight", inter, h);
        layers[i] = new Layer(
            up.matrix(tensors.readFloats(p + "input_layernorm.weight", h)),
            qkv,
            up.matrix(tensors.readFloats(p + "self_attn.o_proj.weight", h, c.qDim())),
            up.matrix(tensors.readFloats(p + "post_attention_layernorm.weight", h)),
            up.interleavedRows(gate, upProj, h),
            up.matrix(tensors.readFloats(p + "mlp.down_proj.weight", h, inter)));
      }
      DeviceBuffer finalNorm = up.matrix(tensors.readFloats("model.norm.weight", h));
      DeviceBuffer lmHead = c.tieWordEmbeddings()
          ? embedding
          : up.matrix(tensors.readFloats("lm_head.weight", c.vocabSize(), h));
      return new CudaWeights(embedding, layers, finalNorm, lmHead, up.totalBytes());
    }
  }

  DeviceBuffer embedding() {
    return embedding;
  }

  Layer layer(int i) {
    return layers[i];
  }

  DeviceBuffer finalNorm() {
    return finalNorm;
  }

  DeviceBuffer lmHead() {
    return lmHead;
  }

  /** Device bytes of all weights (a tied LM head counted once). */
  long bytes() {
    return bytes;
  }

  @Override
  public void close() {
    List<DeviceBuffer> all = new ArrayList<>(List.of(embedding, finalNorm));
    if (lmHead != embedding) {
      all.add(lmHead);
    }
    for (Layer l : layers) {
      all.addAll(List.of(l.attentionNorm(), l.qkv(), l.output(), l.mlpNorm(), l.gateUp(), l.down()));
    }
    all.forEach(DeviceBuffer::close);
  }

  /** Converts float32 host values to bf16 through one pinned staging buffer. */
  private static final class Uploader implements AutoCloseable {
    private final CudaContext context;
    private final CudaStream stream;
    private final PinnedHostBuffer staging;
    private final List<DeviceBuffer> allocated = new ArrayList<>();
    private long totalBytes;
    private boolean done;

    Uploader(CudaContext context, CudaStream stream) {
      this.context = context;
      this.stream = stream;
      this.staging = context.allocatePinned(STAGING_BYTES);
    }

    DeviceBuffer allocate(long elements) {
      DeviceBuffer b = context.allocate(2 * elements);
      allocated.add(b);
      totalBytes += 2 * elements;
      return b;
    }

    DeviceBuffer matrix(float[] values) {
      DeviceBuffer b = allocate(values.length);
      copy(b, 0, values);
      return b;
    }

    /** Copies values as bf16 to element {@code at} of {@code target}; returns the element after them. */
    long copy(DeviceBuffer target, long at, float[] values) {
      int perChunk = (int) (STAGING_BYTES / 2);
      for (int from = 0; from < values.length; from += perChunk) {
        int n = Math.min(perChunk, values.length - from);
        ByteBuffer host = staging.buffer();
        for (int i = 0; i < n; i++) {
          host.putShort(HalfFloats.floatToBf16(values[from + i]));
        }
        target.copyFromAt(2 * (at + from), staging, 2L * n, stream);
        stream.synchronize(); // the staging buffer is refilled next
      }
      return at + values.length;
    }

    /** [2 * rows, width]: row 2j from {@code even}, row 2j + 1 from {@code odd}. */
    DeviceBuffer interleavedRows(float[] even, float[] odd, int width) {
      int rows = even.length / width;
      float[] merged = new float[2 * even.length];
      for (int r = 0; r < rows; r++) {
        System.arraycopy(even, r * width, merged, 2 * r * width, width);
        System.arraycopy(odd, r * width, merged, (2 * r + 1) * width, width);
      }
      return matrix(merged);
    }

    long totalBytes() {
      done = true;
      return totalBytes;
    }

    @Override
    public void close() {
      staging.close();
      if (!done) { // a failed load frees what it had uploaded
        allocated.forEach(DeviceBuffer::close);
      }
    }
  }
}
