package org.sparkllm.backend.cuda;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TreeMap;
import org.sparkllm.backend.Backend;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.KvCache;
import org.sparkllm.backend.Sampling;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaGraph;
import org.sparkllm.cuda.CudaModule;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.KernelFatbin;
import org.sparkllm.cuda.PinnedHostBuffer;
import org.sparkllm.kvcache.CudaVirtualMemoryDriver;
import org.sparkllm.kvcache.KvCacheOptions;
import org.sparkllm.kvcache.KvCacheShape;
import org.sparkllm.kvcache.VAttentionKvCache;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.safetensors.ModelTensors;

/**
 * The Llama forward pass on one GPU, one kernel per operation, the way vLLM and SGLang run it: bf16
 * weights with fp32 accumulation, K and V in the vAttention cache, tokens sampled on the device so
 * only their ids cross to the host. A step of single-token chunks (pure decode) replays a CUDA graph
 * captured once per batch-size bucket; any other step (prefill, or prefill mixed with decode) launches
 * its kernels directly.
 *
 * <p>Threads: created on the caller's thread; the engine's step thread takes the context over with
 * {@link #bindToCurrentThread()} and is the only one that calls it afterwards.
 */
public final class CudaBackend implements Backend {
  /** Decode batch sizes that get their own graph; a step runs in the smallest bucket that fits. */
  private static final int[] BUCKETS = {1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 160, 192, 224, 256};
  private static final int TILE_TOKENS = 64;
  private static final long PAGE_BYTES = 2L << 20;

  private final LlamaConfig config;
  private final CudaBackendOptions options;
  private final CudaContext context;
  private final CudaStream stream;
  private final CudaModule module;
  private final LayerKernels layers;
  private final GemmKernels gemm;
  private final AttentionKernels attention;
  private final DeviceSampler sampler;
  private final CudaWeights weights;
  private final RopeTables rope;
  private final ActivationBuffers buffers;
  private final StepInputs eagerInputs;
  private final VAttentionKvCache kvCache;
  private final TreeMap<Integer, DecodeGraph> graphs = new TreeMap<>();
  private PinnedHostBuffer logitsHost;

  private record DecodeGraph(StepInputs inputs, CudaGraph graph) {}

  private CudaBackend(LlamaConfig config, ModelTensors tensors, CudaBackendOptions options, long reservedBytes) {
    this.config = config;
    this.options = options;
    this.context = CudaContext.openPrimary(options.device());
    List<AutoCloseable> opened = new ArrayList<>();
    try {
      stream = track(opened, context.createStream());
      module = track(opened, context.loadModule(KernelFatbin.read()));
      layers = new LayerKernels(module, config);
      int rows = largestBucket(options.maxSlots());
      int tokens = Math.max(options.maxBatchTokens(), rows);
      gemm = track(opened, new GemmKernels(context, module, 64L << 20));
      attention = track(opened, new AttentionKernels(context, module, config.numHeads(), config.numKvHeads(),
          config.headDim(), rows));
      sampler = new DeviceSampler(module);
      weights = track(opened, CudaWeights.load(context, stream, config, tensors));
      rope = track(opened, new RopeTables(context, stream, config, options.maxContext()));
      buffers = track(opened, new ActivationBuffers(context, config, tokens, rows));
      eagerInputs = track(opened, new StepInputs(context, tokens, rows, tokens / TILE_TOKENS + rows));
      KvCacheShape shape = new KvCacheShape(config.numLayers(), config.numKvHeads(), config.headDim(), 2,
          options.maxSlots(), options.maxContext(), PAGE_BYTES);
      kvCache = VAttentionKvCache.create(shape,
          KvCacheOptions.defaults().withMemoryFraction(options.kvMemoryFraction()).withReservedBytes(reservedBytes),
          new CudaVirtualMemoryDriver(context));
    } catch (RuntimeException e) {
      Collections.reverse(opened);
      for (AutoCloseable c : opened) {
        try {
          c.close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      context.close();
      throw e;
    }
  }

  /** Loads the weights onto device {@code options.device()} and reserves the KV cache. */
  public static CudaBackend load(LlamaConfig config, ModelTensors tensors, CudaBackendOptions options) {
    return load(config, tensors, options, 0);
  }

  /**
   * As {@link #load(LlamaConfig, ModelTensors, CudaBackendOptions)}, keeping {@code reservedBytes} of device
   * memory out of the KV cache's share for allocations that come after it (the megakernel's).
   */
  public static CudaBackend load(LlamaConfig config, ModelTensors tensors, CudaBackendOptions options,
      long reservedBytes) {
    return new CudaBackend(config, tensors, options, reservedBytes);
  }

  @Override
  public String name() {
    return "cuda";
  }

  @Override
  public LlamaConfig config() {
    return config;
  }

  @Override
  public KvCache kvCache() {
    return kvCache;
  }

  /** The vAttention cache itself (tests and benchmarks read its metrics). */
  public VAttentionKvCache vAttentionCache() {
    return kvCache;
  }

  /** The device resources the megakernel backend shares with this backend (this backend keeps owning them). */
  public SharedDevice shared() {
    return SharedDevice.of(context, stream, module, kvCache, weights, rope, config.numLayers());
  }

  /** Device bytes of the weights. */
  public long weightBytes() {
    return weights.bytes();
  }

  /** The device's name, e.g. "NVIDIA H100 80GB HBM3". */
  public String deviceName() {
    return context.deviceName();
  }

  @Override
  public void bindToCurrentThread() {
    context.transferToCurrentThread();
  }

  @Override
  public boolean samplesOnDevice() {
    return true;
  }

  @Override
  public float[][] forward(ForwardBatch batch) {
    StepInputs inputs = run(batch, null);
    int rows = inputs.logitRows();
    int vocab = config.vocabSize();
    long bytes = 4L * rows * vocab;
    if (logitsHost == null || logitsHost.bytes() < bytes) {
      if (logitsHost != null) {
        logitsHost.close();
      }
      logitsHost = context.allocatePinned(buffers.logits.bytes());
    }
    buffers.logits.copyTo(logitsHost, bytes, stream);
    stream.synchronize();
    ByteBuffer host = logitsHost.buffer();
    float[][] out = new float[rows][vocab];
    for (int r = 0; r < rows; r++) {
      host.position(4 * r * vocab);
      host.slice().order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out[r]);
    }
    return out;
  }

  @Override
  public int[] forwardAndSample(ForwardBatch batch, List<Sampling> sampling) {
    StepInputs inputs = run(batch, sampling);
    inputs.downloadSampled(stream);
    stream.synchronize();
    return inputs.sampledTokens();
  }

  /** Enqueues the whole step (graph replay or direct launches); returns the inputs it used. */
  private StepInputs run(ForwardBatch batch, List<Sampling> sampling) {
    context.checkOwner();
    validate(batch);
    boolean decodeOnly = batch.chunks().stream().allMatch(c -> c.tokens().length == 1 && c.wantLogits());
    int n = batch.chunks().size();
    if (options.graphs() && decodeOnly && n <= largestBucket(options.maxSlots())) {
      int bucket = bucketFor(n);
      DecodeGraph g = graphs.computeIfAbsent(bucket, this::captureDecode);
      fill(g.inputs(), batch, sampling);
      g.inputs().padTo(bucket);
      kvCache.awaitMapped();
      g.inputs().upload(stream);
      g.graph().launch(stream);
      return g.inputs();
    }
    StepInputs in = eagerInputs;
    fill(in, batch, sampling);
    kvCache.awaitMapped();
    in.upload(stream);
    enqueueForward(in, in.tokens(), in.tiles(), in.decodeRows(), in.logitRows());
    return in;
  }

  private DecodeGraph captureDecode(int bucket) {
    StepInputs in = new StepInputs(context, bucket, bucket, 0);
    CudaGraph graph = CudaGraph.capture(stream, () -> enqueueForward(in, bucket, 0, bucket, bucket));
    return new DecodeGraph(in, graph);
  }

  private void fill(StepInputs in, ForwardBatch batch, List<Sampling> sampling) {
    in.clear();
    int row = 0;
    for (ForwardBatch.Chunk chunk : batch.chunks()) {
      int first = -1;
      int last = -1;
      for (int i = 0; i < chunk.tokens().length; i++) {
        last = in.addToken(chunk.tokens()[i], chunk.slot(), chunk.startPosition() + i);
        if (first < 0) {
          first = last;
        }
      }
      int length = chunk.tokens().length;
      if (length == 1) {
        in.addDecodeRow(first);
      } else {
        for (int i = 0; i < length; i += TILE_TOKENS) {
          in.addTile(first + i, Math.min(TILE_TOKENS, length - i), chunk.slot(), chunk.startPosition() + i);
        }
      }
      if (chunk.wantLogits()) {
        in.addLogitRow(last, sampling != null ? sampling.get(row) : Sampling.greedy());
        row++;
      }
    }
  }

  /**
   * Every kernel of one step. {@code tokens}, {@code tiles}, {@code decodeRows} and {@code logitRows}
   * size the launches; the kernels that must skip padded rows read the real counts from {@code in}.
   */
  private void enqueueForward(StepInputs in, int tokens, int tiles, int decodeRows, int logitRows) {
    int h = config.hiddenSize();
    int qDim = config.qDim();
    int qkvDim = qDim + 2 * config.kvDim();
    int inter = config.intermediateSize();
    ActivationBuffers b = buffers;
    layers.embed(stream, in.tokensAddress(), weights.embedding().address(), b.residual.address(), tokens);
    for (int l = 0; l < config.numLayers(); l++) {
      CudaWeights.Layer w = weights.layer(l);
      long keys = kvCache.keyAddress(l);
      long values = kvCache.valueAddress(l);
      layers.rmsNorm(stream, b.residual.address(), w.attentionNorm().address(), b.normed.address(), tokens, 0);
      gemm.run(stream, b.normed.address(), h, w.qkv().address(), b.qkv.address(), qkvDim, tokens, qkvDim, h,
          GemmKernels.Epilogue.STORE_F32);
      layers.ropeAppend(stream, b.qkv.address(), rope, in.slotsAddress(), in.positionsAddress(), in.tokenCountAddress(),
          b.query.address(), keys, values, kvCache.slotStrideBytes(), tokens);
      if (tiles > 0) {
        attention.prefill(stream, b.query.address(), keys, values, kvCache.slotStrideBytes(), in.tilesAddress(),
            tiles, b.attention.address());
      }
      if (decodeRows > 0) {
        attention.decode(stream, b.query.address(), keys, values, kvCache.slotStrideBytes(),
            in.decodeRowsAddress(), in.decodeRowCountAddress(), decodeRows, in.slotsAddress(), in.positionsAddress(),
            b.attention.address());
      }
      gemm.run(stream, b.attention.address(), qDim, w.output().address(), b.residual.address(), h, tokens, h, qDim,
          GemmKernels.Epilogue.ADD_F32);
      layers.rmsNorm(stream, b.residual.address(), w.mlpNorm().address(), b.normed.address(), tokens, 0);
      gemm.run(stream, b.normed.address(), h, w.gateUp().address(), b.mlp.address(), inter, tokens, 2 * inter, h,
          GemmKernels.Epilogue.SWIGLU_BF16);
      gemm.run(stream, b.mlp.address(), inter, w.down().address(), b.residual.address(), h, tokens, h, inter,
          GemmKernels.Epilogue.ADD_F32);
    }
    if (logitRows == 0) {
      return;
    }
    int vocab = config.vocabSize();
    layers.rmsNorm(stream, b.residual.address(), weights.finalNorm().address(), b.lastNormed.address(), logitRows,
        in.logitRowsAddress());
    gemm.run(stream, b.lastNormed.address(), h, weights.lmHead().address(), b.logits.address(), vocab, logitRows,
        vocab, h, GemmKernels.Epilogue.STORE_F32);
    sampler.sample(stream, b.logits.address(), vocab, vocab, in.paramsAddress(), in.logitRowCountAddress(), logitRows,
        in.sampledAddress());
  }

  /** How this backend's GEMMs split K for an [m, k] × [k, n] product ({@link GemmKernels#kSplits}). */
  public int gemmKSplits(int m, int n, int k) {
    return gemm.kSplits(m, n, k);
  }

  private void validate(ForwardBatch batch) {
    if (batch.totalTokens() > eagerInputs.tokenCapacity()) {
      throw new IllegalArgumentException("a step of " + batch.totalTokens() + " tokens exceeds maxBatchTokens = "
          + eagerInputs.tokenCapacity());
    }
    if (batch.chunks().size() > eagerInputs.rowCapacity()) {
      throw new IllegalArgumentException("a step of " + batch.chunks().size() + " sequences exceeds maxSlots = "
          + options.maxSlots());
    }
    for (ForwardBatch.Chunk chunk : batch.chunks()) {
      if (chunk.slot() < 0 || chunk.slot() >= options.maxSlots()) {
        throw new IllegalArgumentException("slot " + chunk.slot() + " is outside [0, " + options.maxSlots() + ")");
      }
      if (chunk.startPosition() < 0 || chunk.startPosition() + chunk.tokens().length > options.maxContext()) {
        throw new IllegalArgumentException("positions " + chunk.startPosition() + ".."
            + (chunk.startPosition() + chunk.tokens().length - 1) + " exceed the context limit "
            + options.maxContext());
      }
      for (int token : chunk.tokens()) {
        if (token < 0 || token >= config.vocabSize()) {
          throw new IllegalArgumentException(
              "token id " + token + " is outside the vocabulary [0, " + config.vocabSize() + ")");
        }
      }
    }
  }

  /** The largest decode bucket, at least maxSlots: the row capacity of every per-step buffer. */
  private static int largestBucket(int maxSlots) {
    return bucketFor(maxSlots, maxSlots);
  }

  private int bucketFor(int rows) {
    return bucketFor(rows, options.maxSlots());
  }

  /** The smallest bucket holding {@code rows}; beyond the ladder, maxSlots itself. */
  private static int bucketFor(int rows, int maxSlots) {
    for (int b : BUCKETS) {
      if (b >= rows) {
        return b;
      }
    }
    return Math.max(rows, maxSlots);
  }

  @Override
  public void close() {
    context.checkOwner();
    stream.synchronize();
    for (DecodeGraph g : graphs.values()) {
      g.graph().close();
      g.inputs().close();
    }
    graphs.clear();
    if (logitsHost != null) {
      logitsHost.close();
    }
    kvCache.close();
    eagerInputs.close();
    buffers.close();
    rope.close();
    weights.close();
    attention.close();
    gemm.close();
    module.close();
    stream.close();
    context.close();
  }

  private static <T extends AutoCloseable> T track(List<AutoCloseable> opened, T resource) {
    opened.add(resource);
    return resource;
  }
}
