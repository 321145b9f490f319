package org.sparkllm.backend.megakernel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.sparkllm.backend.Backend;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.KvCache;
import org.sparkllm.backend.Sampling;
import org.sparkllm.backend.cuda.CudaBackend;
import org.sparkllm.backend.cuda.CudaBackendOptions;
import org.sparkllm.backend.cuda.SharedDevice;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.PinnedHostBuffer;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.safetensors.ModelTensors;

/**
 * Decode steps of up to {@link MegakernelOptions#maxRows()} sequences (16 by default, at most 256) in one
 * launch of the persistent megakernel (up to 4 rows on CUDA cores, 5 to 256 on tensor cores); everything
 * else (prefill, prefill mixed with decode, larger batches) runs on the CUDA backend it wraps, which also owns
 * the weights, the KV cache and the stream both use. Tokens come out of the same launch: greedy rows take
 * the LM head's argmax, the others are drawn by the kernel's SAMPLE instructions (sampling.cuh's sampler).
 * After a streak of greedy steps that each went on from the one before, the next step is launched before the
 * caller asks for it ({@link MegakernelOptions#launchAheadAfter()}, {@link Continuation}), so the host's share
 * of a step overlaps the kernel.
 *
 * <p>Threads: as {@link CudaBackend}: the engine's step thread binds it and is its only caller.
 */
public final class MegakernelBackend implements Backend {
  private static final int[] BUCKETS = {1, 2, 4, 16, 32, 64, 128, 256}; // mk_kernel.cuh's kernels
  /** More SMs than any GPU the kernels are built for has (an H100 has 132): bounds the reserve. */
  private static final int MAX_BLOCKS = 256;
  private static final long RESERVE_MARGIN_BYTES = 64L << 20;

  private final CudaBackend cuda;
  private final CudaBackendOptions cudaOptions;
  private MegakernelOptions options; // not final: setLoader, a test hook
  private final SharedDevice shared;
  private final ModelDims dims;
  private final DeviceLimits limits;
  private final MegakernelWeights tiles;
  private final MegakernelBuffers buffers;
  private final ModelDescriptor descriptor;
  /** Two sets of step buffers, taken in turn: a step launched ahead has its own while the host reads the last. */
  private final MegakernelStep[] steps = new MegakernelStep[2];
  /** The steps' uploads and downloads, beside the launch stream (MegakernelStep). */
  private final CudaStream uploads;
  private final CudaStream downloads;
  private int launches;
  private final TreeMap<Integer, BucketProgram> programs = new TreeMap<>();
  private final InstructionTimings timings = new InstructionTimings();
  private PinnedHostBuffer logitsHost;
  /** The last launch's tag (1 to 2^31 - 1, then 1 again): the watchdog's records and the flagged words carry it. */
  private int tag;
  /** validate's marks of the slots a step names (cleared after each check: no set per step). */
  private final boolean[] slotSeen;
  private final KvCache kvCache;
  /** The step launched before the caller asked for it (MegakernelOptions.launchAheadAfter); null when none. */
  private Launch ahead;
  /** Once the step ahead has been waited for (a slot went back to the pool): its tokens, or its failure. */
  private int[] aheadTokens;
  private MegakernelWatchdogException aheadFailure;
  /** The step after the last megakernel step, if its sequences go on; null after anything else. */
  private Continuation following;
  /** Megakernel steps in a row whose batch went on from the step before (MegakernelOptions.launchAheadAfter). */
  private int steadySteps;
  private MegakernelStep lastAwaited;
  private long launchedAhead;
  private long usedAhead;

  /** A launch in flight. {@code afterFailure}: it was queued behind a step that failed, so it fails too. */
  private record Launch(MegakernelStep step, BucketProgram program, int rows, int bucket, int epoch, int tag,
      boolean afterFailure) {
    Launch failing() {
      return new Launch(step, program, rows, bucket, epoch, tag, true);
    }
  }

  /** How many steps were launched ahead, and how many of them the caller's next batch used. */
  public record LaunchesAhead(long launched, long used) {}

  private MegakernelBackend(CudaBackend cuda, CudaBackendOptions cudaOptions, MegakernelOptions options) {
    this.cuda = cuda;
    this.cudaOptions = cudaOptions;
    this.options = options;
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
    buffers.clearFlagged(shared.stream());
    this.descriptor = new ModelDescriptor(shared.context(), shared.stream(), dims, config.rmsNormEps(), shared,
        tiles, buffers);
    this.uploads = shared.context().createStream();
    this.downloads = shared.context().createStream();
    for (int i = 0; i < steps.length; i++) {
      steps[i] = new MegakernelStep(shared.context(), shared.stream());
    }
    this.slotSeen = new boolean[cudaOptions.maxSlots()];
    this.kvCache = new SettlingKvCache(cuda.kvCache(), this::landAhead);
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
    return kvCache;
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
    return lastAwaited == null ? Double.NaN : lastAwaited.kernelMicros();
  }

  public LaunchesAhead launchesAhead() {
    return new LaunchesAhead(launchedAhead, usedAhead);
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
    dropAhead();
    following = null;
    steadySteps = 0;
    if (!runsOnMegakernel(batch)) {
      return cuda.forward(batch);
    }
    validate(batch);
    await(launch(batch, null, null, true));
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
      steadySteps = 0;
      int[] joined = joinStepAhead(batch, sampling);
      if (joined != null) {
        return joined;
      }
      dropAhead();
      following = null;
      return cuda.forwardAndSample(batch, sampling);
    }
    boolean greedy = sampling == null || sampling.stream().allMatch(Sampling::isGreedy);
    int[] rowsAhead = greedy && following != null ? following.rowsOf(batch) : null; // null: not a continuation
    steadySteps = rowsAhead != null ? steadySteps + 1 : 0;
    Launch now;
    int[] landed = null; // now's tokens, if it was waited for already
    int[] pick = null; // the caller's rows among now's, when some of now's sequences have finished
    if (rowsAhead != null && ahead != null && bucketFor(rowsAhead.length) == ahead.bucket()) {
      now = ahead;
      landed = aheadTokens;
      MegakernelWatchdogException failed = aheadFailure;
      clearAhead();
      if (failed != null) {
        following = null;
        throw failed;
      }
      usedAhead++;
      pick = rowsAhead.length == now.rows() ? null : rowsAhead; // rowsAhead ascends: all rows, or a subset
    } else {
      dropAhead();
      validate(batch);
      now = launch(batch, sampling, null, !greedy); // a greedy step keeps only the argmaxes
    }
    // A batch that went on from the steps before is likely to go on again: launch its successor now, fed with
    // the tokens this step picks on the device. (Not after a partial match: the successor's tokens would have
    // to be gathered; the next step launches ahead again.)
    int after = options.launchAheadAfter();
    if (rowsAhead != null && pick == null && after > 0 && steadySteps >= after && !options.timing()) {
      ahead = launchNext(now, batch);
    }
    int[] tokens;
    try {
      tokens = landed != null ? landed : await(now);
    } catch (RuntimeException e) {
      following = null;
      if (ahead != null) {
        ahead = ahead.failing();
      }
      throw e;
    }
    if (pick != null) {
      int[] all = tokens;
      tokens = new int[pick.length];
      for (int i = 0; i < pick.length; i++) {
        tokens[i] = all[pick[i]];
      }
    }
    following = greedy ? Continuation.after(batch, tokens) : null;
    return tokens;
  }

  /**
   * A batch the megakernel does not take, because prefill chunks joined the decode rows that the step launched
   * ahead ran (new sequences admitted): those rows take that step's tokens, and only the other chunks run on
   * the CUDA backend, so the step ahead is not wasted. Null, doing nothing, where no greedy decode row of the
   * batch is a row of the step ahead.
   */
  private int[] joinStepAhead(ForwardBatch batch, List<Sampling> sampling) {
    if (ahead == null || following == null || sampling == null
        || sampling.size() != batch.chunks().stream().filter(ForwardBatch.Chunk::wantLogits).count()) {
      return null; // (a mismatched sampling list is the CUDA backend's to report)
    }
    List<ForwardBatch.Chunk> rest = new ArrayList<>();
    List<Sampling> restSampling = new ArrayList<>();
    int[] rowAhead = new int[sampling.size()]; // per chunk with logits: its row of the step ahead, or -1
    int withLogits = 0;
    boolean any = false;
    for (ForwardBatch.Chunk c : batch.chunks()) {
      int row = -1;
      if (c.wantLogits()) {
        Sampling s = sampling.get(withLogits);
        row = s.isGreedy() ? following.rowOf(c) : -1;
        rowAhead[withLogits++] = row;
        if (row < 0) {
          restSampling.add(s);
        }
      }
      if (row >= 0) {
        any = true;
      } else {
        rest.add(c);
      }
    }
    if (!any) {
      return null;
    }
    landAhead();
    int[] aheadPicked = aheadTokens;
    if (aheadPicked == null) {
      return null; // it failed: dropAhead reports why
    }
    clearAhead();
    usedAhead++;
    following = null;
    int[] restPicked = rest.isEmpty() ? new int[0] : cuda.forwardAndSample(new ForwardBatch(rest), restSampling);
    int[] tokens = new int[withLogits];
    for (int i = 0, j = 0; i < withLogits; i++) {
      tokens[i] = rowAhead[i] >= 0 ? aheadPicked[rowAhead[i]] : restPicked[j++];
    }
    return tokens;
  }

  /**
   * Uploads the step (null sampling: greedy rows; {@code tokensFrom}: the step whose picks are this one's tokens;
   * {@code keepLogits}: whether the kernel stores the logits, for the caller or for rows that sample), launches
   * the bucket's kernel and queues the download.
   */
  private Launch launch(ForwardBatch batch, List<Sampling> sampling, MegakernelStep tokensFrom,
      boolean keepLogits) {
    shared.context().checkOwner();
    int rows = batch.chunks().size();
    int bucket = bucketFor(rows);
    BucketProgram program = program(bucket);
    if (tag == Integer.MAX_VALUE) { // a word written 2^31 launches ago must not pass for this launch's
      buffers.clearFlagged(shared.stream());
      tag = 0;
    }
    tag++;
    int launchTag = tag;
    int epoch = program.prepare(shared.stream());
    MegakernelStep step = steps[launches++ & 1];
    step.upload(batch, sampling, bucket, tokensFrom, keepLogits, uploads);
    shared.kvCache().awaitMapped();
    step.timeLaunch(() -> program.launch(shared.stream(), descriptor.address(), step.stepAddress(),
        step.outputAddress(), epoch, launchTag, watchdogCycles(), options.pagesInFlight(),
        options.l2PrefetchPages(bucket)), shared.stream());
    program.launched();
    step.download(downloads);
    return new Launch(step, program, rows, bucket, epoch, launchTag, false);
  }

  /**
   * Launches the step after {@code now} (which ran {@code batch}): every row one position further, its token
   * the one {@code now} picks. Null, launching nothing, where a row would pass the context limit or its slot
   * cannot grow by a token.
   */
  private Launch launchNext(Launch now, ForwardBatch batch) {
    for (ForwardBatch.Chunk c : batch.chunks()) {
      int position = c.startPosition() + 1;
      if (position + 1 > cudaOptions.maxContext() || !cuda.kvCache().ensureCapacity(c.slot(), position + 1)) {
        return null;
      }
    }
    launchedAhead++;
    return launch(Continuation.nextPositions(batch), null, now.step(), false); // greedy steps only
  }

  /** Waits for the step's tokens and checks the watchdog; returns the tokens of all its rows. */
  private int[] await(Launch launch) {
    launch.step().awaitDownload();
    lastAwaited = launch.step();
    MegakernelStep.Failure failure = launch.step().failure(launch.tag());
    if (failure != null) {
      launch.program().failed();
      throw new MegakernelWatchdogException(launch.bucket(), launch.epoch(), failure, options.watchdogMillis());
    }
    launch.program().addTimings(timings);
    return launch.step().sampled();
  }

  /**
   * Waits for the step launched ahead, if any, keeping its tokens (or its failure) for the next call: a slot
   * it writes is going back to the pool, and the next batch may still be its rows without that one.
   */
  private void landAhead() {
    if (ahead == null || aheadTokens != null || aheadFailure != null) {
      return;
    }
    try {
      aheadTokens = await(ahead);
    } catch (MegakernelWatchdogException e) {
      aheadFailure = e;
    }
  }

  /**
   * Waits for the step launched ahead, if any, and drops it: the caller wants something else. What it wrote
   * lies one position past its sequences' ends, where the next step at that position writes again, so
   * dropping it loses nothing. Its failure is thrown, unless it only failed because the step before it did.
   */
  private void dropAhead() {
    landAhead();
    Launch dropped = ahead;
    MegakernelWatchdogException failed = aheadFailure;
    clearAhead();
    if (failed != null && !dropped.afterFailure()) {
      throw failed;
    }
  }

  private void clearAhead() {
    ahead = null;
    aheadTokens = null;
    aheadFailure = null;
  }

  private long watchdogCycles() {
    return (long) (options.watchdogMillis() * limits.clockKhz());
  }

  /** Test hook: the loader settings of later steps (timing comparisons on one loaded model). */
  void setLoader(int pagesInFlight, int l2PrefetchPages) {
    options = options.withPagesInFlight(pagesInFlight).withL2PrefetchPages(l2PrefetchPages);
  }

  /** Test hook: makes the next launch of {@code rows}' bucket wait for counts no step will produce. */
  void loseSteps(int rows, int steps) {
    dropAhead();
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
    clearAhead(); // the synchronize below waits for it
    shared.stream().synchronize();
    downloads.synchronize();
    uploads.close();
    downloads.close();
    programs.values().forEach(BucketProgram::close);
    programs.clear();
    if (logitsHost != null) {
      logitsHost.close();
    }
    for (MegakernelStep step : steps) {
      step.close();
    }
    descriptor.close();
    buffers.close();
    tiles.close();
    cuda.close();
  }
}
