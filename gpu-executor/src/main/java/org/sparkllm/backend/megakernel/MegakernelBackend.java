package org.sparkllm.backend.megakernel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.TreeMap;
import org.sparkllm.backend.Backend;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.KvCache;
import org.sparkllm.backend.Sampling;
import org.sparkllm.backend.cuda.CudaBackend;
import org.sparkllm.backend.cuda.CudaBackendOptions;
import org.sparkllm.backend.cuda.SharedDevice;
import org.sparkllm.cuda.CudaEvent;
import org.sparkllm.cuda.PinnedHostBuffer;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.safetensors.ModelTensors;

/**
 * Decode steps of up to {@link MegakernelOptions#maxRows()} sequences (8 by default, at most 256) in one
 * launch of the persistent megakernel (up to 8 rows on CUDA cores, 16 to 256 on tensor cores); everything
 * else (prefill, prefill mixed with decode, larger batches) runs on the CUDA backend it wraps, which also owns
 * the weights, the KV cache and the stream both use. Tokens come out of the same launch: greedy rows take
 * the LM head's argmax, the others are drawn by the kernel's SAMPLE instructions (sampling.cuh's sampler).
 *
 * <p>Threads: as {@link CudaBackend}: the engine's step thread binds it and is its only caller.
 */
public final class MegakernelBackend implements Backend {
  private static final int[] BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256};
  /** More SMs than any GPU the kernels are built for has (an H100 has 132): bounds the reserve. */
  private static final int MAX_BLOCKS = 256;
  private static final long RESERVE_MARGIN_BYTES = 64L << 20;

  private final CudaBackend cuda;
  private final CudaBackendOptions cudaOptions;
  private final MegakernelOptions options;
  private int pagesInFlight;
  private final SharedDevice shared;
  private final ModelDims dims;
  private final DeviceLimits limits;
  private final MegakernelWeights tiles;
  private final MegakernelBuffers buffers;
  private final ModelDescriptor descriptor;
  private final MegakernelStep step;
  private final TreeMap<Integer, BucketProgram> programs = new TreeMap<>();
  private final InstructionTimings timings = new InstructionTimings();
  private PinnedHostBuffer logitsHost;
  private int tag;
  /** Around each launch: the kernel's own time, without the host's share of a step. */
  private final CudaEvent launchStart;
  private final CudaEvent launchEnd;
  private boolean launched;
  /** validate's marks of the slots a step names (cleared after each check: no set per step). */
  private final boolean[] slotSeen;

  private MegakernelBackend(CudaBackend cuda, CudaBackendOptions cudaOptions, MegakernelOptions options) {
    this.cuda = cuda;
    this.cudaOptions = cudaOptions;
    this.options = options;
    this.pagesInFlight = options.pagesInFlight();
    this.shared = cuda.shared();
    LlamaConfig config = cuda.config();
    this.dims = ModelDims.of(config);
    this.limits = DeviceLimits.of(cudaOptions.device());
    if (limits.computeMajor() < 9) {
      throw new IllegalStateException("the megakernel needs a Hopper GPU (compute capability 9.0); device "
          + cudaOptions.device() + " is " + limits.computeMajor() + ".x");
    }
    int largest = bucketFor(Math.min(cudaOptions.maxSlots(), options.maxRows()));
    for (int bucket : BUCKETS) {
      if (bucket <= largest) {
        SharedMemoryPlan.of(bucket, dims, limits.maxSharedBytes()); // fails early if one cannot fit
      }
    }
    this.tiles = MegakernelWeights.retile(shared, dims);
    this.buffers = new MegakernelBuffers(shared.context(), dims, limits.sms(), largest);
    this.descriptor = new ModelDescriptor(shared.context(), shared.stream(), dims, config.rmsNormEps(), shared,
        tiles, buffers);
    this.step = new MegakernelStep(shared.context(), shared.stream());
    this.slotSeen = new boolean[cudaOptions.maxSlots()];
    this.launchStart = shared.context().createEvent();
    this.launchEnd = shared.context().createEvent();
  }

  /**
   * Loads the CUDA backend (weights, KV cache) and the megakernel's tiled weights on top of it. The KV cache
   * takes its share of the memory left after {@link #reservedBytes}, so the tiled copies fit after it.
   */
  public static MegakernelBackend load(LlamaConfig config, ModelTensors tensors, CudaBackendOptions cudaOptions,
      MegakernelOptions options) {
    int rows = Math.min(cudaOptions.maxSlots(), options.maxRows());
    CudaBackend cuda = CudaBackend.load(config, tensors, cudaOptions, reservedBytes(ModelDims.of(config), rows));
    try {
      return new MegakernelBackend(cuda, cudaOptions, options);
    } catch (RuntimeException e) {
      cuda.close();
      throw e;
    }
  }

  /**
   * Device memory the megakernel allocates after the CUDA backend: the tiled weights, the buffers for
   * {@code rows} rows (LM-head partials sized for up to {@link #MAX_BLOCKS} SMs), and a margin for the
   * per-bucket streams, counters and step buffers.
   */
  static long reservedBytes(ModelDims dims, int rows) {
    return MegakernelWeights.tiledBytes(dims) + MegakernelBuffers.bytes(dims, MAX_BLOCKS, bucketFor(rows))
        + RESERVE_MARGIN_BYTES;
  }

  @Override
  public String name() {
    return "megakernel";
  }

  @Override
  public LlamaConfig config() {
    return cuda.config();
  }

  @Override
  public KvCache kvCache() {
    return cuda.kvCache();
  }

  /** The CUDA backend it wraps (prefill and fallback steps run there). */
  public CudaBackend cuda() {
    return cuda;
  }

  /** Device bytes of the megakernel's tiled weight copies (on top of the CUDA backend's weights). */
  public long tiledWeightBytes() {
    return tiles.bytes();
  }

  /**
   * GPU time of the last megakernel launch in µs, from CUDA events on either side of it (with timing on, the
   * timing records' download is inside); NaN before the first. A step's host time adds the step's upload,
   * the tokens' download and the host's own work. Read on demand, so that steps do not pay for the query.
   */
  public double lastKernelMicros() {
    return launched ? 1e3 * launchEnd.millisSince(launchStart) : Double.NaN;
  }

  /** Per-opcode time of the steps run so far, when {@link MegakernelOptions#timing()} is on. */
  public InstructionTimings timings() {
    return timings;
  }

  @Override
  public void bindToCurrentThread() {
    cuda.bindToCurrentThread();
  }

  @Override
  public boolean samplesOnDevice() {
    return true;
  }

  /** Whether the megakernel runs this step: only single-token chunks that want logits, at most maxRows. */
  public boolean runsOnMegakernel(ForwardBatch batch) {
    int n = batch.chunks().size();
    return n >= 1 && n <= options.maxRows()
        && batch.chunks().stream().allMatch(c -> c.tokens().length == 1 && c.wantLogits());
  }

  @Override
  public float[][] forward(ForwardBatch batch) {
    if (!runsOnMegakernel(batch)) {
      return cuda.forward(batch);
    }
    run(batch, null);
    int rows = batch.chunks().size();
    int vocab = dims.vocab();
    long bytes = 4L * rows * vocab;
    if (logitsHost == null) {
      logitsHost = shared.context().allocatePinned(buffers.logits.bytes());
    }
    buffers.logits.copyTo(logitsHost, bytes, shared.stream());
    shared.stream().synchronize();
    ByteBuffer host = logitsHost.buffer();
    float[][] out = new float[rows][vocab];
    for (int r = 0; r < rows; r++) {
      host.position(4 * r * vocab);
      host.slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out[r]);
    }
    return out;
  }

  @Override
  public int[] forwardAndSample(ForwardBatch batch, List<Sampling> sampling) {
    if (!runsOnMegakernel(batch)) {
      return cuda.forwardAndSample(batch, sampling);
    }
    run(batch, sampling);
    return step.sampled();
  }

  /** Uploads the step (null sampling: greedy rows), launches the bucket's kernel, waits, checks the watchdog. */
  private void run(ForwardBatch batch, List<Sampling> sampling) {
    shared.context().checkOwner();
    validate(batch);
    int rows = batch.chunks().size();
    int bucket = bucketFor(rows);
    BucketProgram program = program(bucket);
    tag = tag == Integer.MAX_VALUE ? 1 : tag + 1;
    int epoch = program.prepare(shared.stream());
    step.upload(batch, sampling, bucket, shared.stream());
    shared.kvCache().awaitMapped();
    launchStart.record(shared.stream());
    program.launch(shared.stream(), descriptor.address(), step.stepAddress(), step.outputAddress(), epoch, tag,
        watchdogCycles(), pagesInFlight);
    launchEnd.record(shared.stream());
    step.download(shared.stream());
    shared.stream().synchronize();
    launched = true;
    MegakernelStep.Failure failure = step.failure(tag);
    if (failure != null) {
      program.failed();
      throw new MegakernelWatchdogException(bucket, epoch, failure, options.watchdogMillis());
    }
    program.completed();
    program.addTimings(timings);
  }

  private long watchdogCycles() {
    return (long) (options.watchdogMillis() * limits.clockKhz());
  }

  /** Test hook: the page copies in flight of later steps (timing comparisons on one loaded model). */
  void setPagesInFlight(int pages) {
    pagesInFlight = options.withPagesInFlight(pages).pagesInFlight(); // validated as an option
  }

  /** Test hook: makes the next launch of {@code rows}' bucket wait for counts no step will produce. */
  void loseSteps(int rows, int steps) {
    program(bucketFor(rows)).skipEpochs(steps);
  }

  /** The bucket's streams and kernel, built on its first step. */
  private BucketProgram program(int bucket) {
    return programs.computeIfAbsent(bucket,
        r -> new BucketProgram(shared.context(), shared.stream(), shared.module(), dims, limits, r, options.timing(),
            cuda::gemmKSplits));
  }

  private static int bucketFor(int rows) {
    for (int b : BUCKETS) {
      if (b >= rows) {
        return b;
      }
    }
    throw new IllegalArgumentException("the megakernel runs at most " + BUCKETS[BUCKETS.length - 1] + " rows");
  }

  private void validate(ForwardBatch batch) {
    List<ForwardBatch.Chunk> chunks = batch.chunks();
    try {
      for (ForwardBatch.Chunk chunk : chunks) {
        if (chunk.slot() < 0 || chunk.slot() >= cudaOptions.maxSlots() || slotSeen[chunk.slot()]) {
          throw new IllegalArgumentException("slot " + chunk.slot() + " is outside [0, " + cudaOptions.maxSlots()
              + ") or appears twice in one step");
        }
        slotSeen[chunk.slot()] = true;
        if (chunk.startPosition() < 0 || chunk.startPosition() + 1 > cudaOptions.maxContext()) {
          throw new IllegalArgumentException("position " + chunk.startPosition() + " exceeds the context limit "
              + cudaOptions.maxContext());
        }
        int token = chunk.tokens()[0];
        if (token < 0 || token >= dims.vocab()) {
          throw new IllegalArgumentException("token id " + token + " is outside the vocabulary [0, " + dims.vocab()
              + ")");
        }
      }
    } finally {
      for (ForwardBatch.Chunk chunk : chunks) {
        if (chunk.slot() >= 0 && chunk.slot() < slotSeen.length) {
          slotSeen[chunk.slot()] = false;
        }
      }
    }
  }

  @Override
  public void close() {
    shared.context().checkOwner();
    shared.stream().synchronize();
    programs.values().forEach(BucketProgram::close);
    programs.clear();
    if (logitsHost != null) {
      logitsHost.close();
    }
    step.close();
    launchStart.close();
    launchEnd.close();
    descriptor.close();
    buffers.close();
    tiles.close();
    cuda.close();
  }
}
