package org.sparkllm.backend.megakernel;

import java.util.ArrayList;
import java.util.List;
import org.sparkllm.backend.cuda.SharedDevice;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaKernel;
import org.sparkllm.cuda.CudaModule;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.cuda.KernelArgs;
import org.sparkllm.cuda.LaunchShape;

/**
 * The megakernel's copies of the matrices in {@link TileLayout}'s tiles, made once at load on the device
 * (kernel mk_retile) from the CUDA backend's row-major bf16 weights; norms and the embedding are read
 * from the CUDA backend's copies as they are.
 */
final class MegakernelWeights implements AutoCloseable {
  record Layer(DeviceBuffer qkv, DeviceBuffer output, DeviceBuffer gateUp, DeviceBuffer down) {}

  private final List<Layer> layers;
  private final DeviceBuffer lmHead;
  private final long bytes;

  private MegakernelWeights(List<Layer> layers, DeviceBuffer lmHead, long bytes) {
    this.layers = layers;
    this.lmHead = lmHead;
    this.bytes = bytes;
  }

  static MegakernelWeights retile(SharedDevice shared, ModelDims d) {
    CudaContext context = shared.context();
    CudaStream stream = shared.stream();
    Retiler retiler = new Retiler(context, stream, shared.module());
    try (DeviceBuffer qkvRows = DeviceInts.upload(context, stream, TileLayout.qkvSourceRows(d))) {
      List<Layer> layers = new ArrayList<>();
      for (SharedDevice.LayerWeights w : shared.layers()) {
        layers.add(new Layer(
            retiler.copy(w.qkv(), Matrix.QKV, d, qkvRows.address()),
            retiler.copy(w.output(), Matrix.O_PROJ, d, 0),
            retiler.copy(w.gateUp(), Matrix.GATE_UP, d, 0),
            retiler.copy(w.down(), Matrix.DOWN, d, 0)));
      }
      DeviceBuffer lmHead = retiler.copy(shared.lmHead(), Matrix.LM_HEAD, d, 0);
      stream.synchronize(); // the row table is freed next
      return new MegakernelWeights(List.copyOf(layers), lmHead, retiler.bytes);
    } catch (RuntimeException e) {
      retiler.allocated.forEach(DeviceBuffer::close);
      throw e;
    }
  }

  /** Device bytes {@link #retile} allocates for the model: every layer's four matrices and the LM head. */
  static long tiledBytes(ModelDims d) {
    long layer = 0;
    for (Matrix m : List.of(Matrix.QKV, Matrix.O_PROJ, Matrix.GATE_UP, Matrix.DOWN)) {
      layer += TileLayout.tiledBytes(m.rows(d), m.columns(d));
    }
    return d.layers() * layer + TileLayout.tiledBytes(Matrix.LM_HEAD.rows(d), Matrix.LM_HEAD.columns(d));
  }

  Layer layer(int i) {
    return layers.get(i);
  }

  DeviceBuffer lmHead() {
    return lmHead;
  }

  /** Device bytes of the tiled copies. */
  long bytes() {
    return bytes;
  }

  @Override
  public void close() {
    for (Layer l : layers) {
      l.qkv().close();
      l.output().close();
      l.gateUp().close();
      l.down().close();
    }
    lmHead.close();
  }

  private static final class Retiler {
    private final CudaContext context;
    private final CudaStream stream;
    private final CudaKernel kernel;
    private final List<DeviceBuffer> allocated = new ArrayList<>();
    private long bytes;

    Retiler(CudaContext context, CudaStream stream, CudaModule module) {
      this.context = context;
      this.stream = stream;
      this.kernel = module.kernel("mk_retile");
    }

    /** A tiled copy of the row-major matrix at {@code source}; {@code sourceRows} 0 keeps the row order. */
    DeviceBuffer copy(long source, Matrix m, ModelDims d, long sourceRows) {
      int rows = m.rows(d);
      int columns = m.columns(d);
      long size = TileLayout.tiledBytes(rows, columns);
      DeviceBuffer target = context.allocate(size);
      allocated.add(target);
      bytes += size;
      kernel.launch(LaunchShape.grid2d(1024, 1, 256), stream, new KernelArgs().addLong(source)
          .addLong(target.address()).addLong(sourceRows).addInt(rows).addInt(columns).addInt(TileLayout.tiles(rows)));
      return target;
    }
  }
}
