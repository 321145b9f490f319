package org.sparkllm.backend.megakernel;

import java.nio.ByteBuffer;
import java.util.List;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.Sampling;
import org.sparkllm.backend.cuda.DeviceSampler;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaEvent;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.cuda.PinnedHostBuffer;

/**
 * One step's inputs (struct Step, then each row's sampling parameters, which the kernel's SAMPLE
 * instructions read at kSampleParamsOffset) in one upload, and its outputs (struct Output: sampled tokens
 * and the watchdog's record) in one download; events after its upload, around its launch and after its
 * download. The backend keeps two, so that a step launched ahead has its own buffers while the host reads the
 * one before.
 *
 * <p>Uploads and downloads run on streams of their own, so that nothing sits between two kernels on the
 * launch stream: the upload of a step launched ahead overlaps the kernel before it, and that kernel's
 * download overlaps the next one. A step launched ahead reads its tokens from the step before's output on
 * the device (Step.tokens_from), so no copy waits for that kernel either.
 */
final class MegakernelStep implements AutoCloseable {
  static final int ROWS = MegakernelBuffers.MAX_ROWS;
  /** struct Step: count, keep_logits and tokens_from, then tokens, slots and positions of every row. */
  static final int KEEP_LOGITS_OFFSET = 4;
  static final int TOKENS_FROM_OFFSET = 8;
  static final int TOKENS_OFFSET = 16;
  static final int STEP_BYTES = TOKENS_OFFSET + 3 * 4 * ROWS;
  static final int PARAMS_OFFSET = (STEP_BYTES + 127) / 128 * 128;
  static final int INPUT_BYTES = PARAMS_OFFSET + DeviceSampler.PARAMS_BYTES * ROWS;
  static final int OUTPUT_BYTES = 4 * ROWS + 8 * 4;

  /** The watchdog's record of a launch (struct Output after the sampled tokens). */
  record Failure(int code, int block, int instruction, int counter, long value, long target) {}

  private final DeviceBuffer input;
  private final PinnedHostBuffer inputHost;
  private final DeviceBuffer output;
  private final PinnedHostBuffer outputHost;
  private final CudaEvent uploaded;
  private final CudaEvent launchStart;
  private final CudaEvent launchEnd;
  private final CudaEvent downloaded;
  private int rows;

  MegakernelStep(CudaContext context, CudaStream stream) {
    input = context.allocate(INPUT_BYTES);
    inputHost = context.allocatePinned(INPUT_BYTES);
    output = context.allocate(OUTPUT_BYTES);
    outputHost = context.allocatePinned(OUTPUT_BYTES);
    output.fill((byte) 0, stream); // tag 0 is never a launch's tag: no failure recorded
    uploaded = context.createEvent();
    launchStart = context.createEvent();
    launchEnd = context.createEvent();
    downloaded = context.createEvent();
  }

  /**
   * Writes the batch (decode chunks only, at most {@code bucket}) and its sampling parameters, padded with
   * zeros and greedy rows to the bucket's rows (the only ones its kernel reads), and uploads them on
   * {@code uploads}. With {@code tokensFrom}, the kernel takes the tokens of its rows from that step's output
   * on the device instead, so the step can be launched before the host has read them. Without {@code keepLogits}
   * the kernel keeps only the logits' argmaxes (Step.keep_logits): nothing may then read the logits buffer.
   */
  void upload(ForwardBatch batch, List<Sampling> sampling, int bucket, MegakernelStep tokensFrom,
      boolean keepLogits, CudaStream uploads) {
    ByteBuffer b = inputHost.buffer();
    List<ForwardBatch.Chunk> chunks = batch.chunks();
    rows = chunks.size();
    b.putInt(0, rows);
    b.putInt(KEEP_LOGITS_OFFSET, keepLogits ? 1 : 0);
    b.putLong(TOKENS_FROM_OFFSET, tokensFrom == null ? 0 : tokensFrom.output.address()); // Output.sampled
    for (int r = 0; r < bucket; r++) {
      ForwardBatch.Chunk c = r < rows ? chunks.get(r) : null;
      b.putInt(TOKENS_OFFSET + 4 * r, c == null ? 0 : c.tokens()[0]);
      b.putInt(TOKENS_OFFSET + 4 * (ROWS + r), c == null ? 0 : c.slot());
      b.putInt(TOKENS_OFFSET + 4 * (2 * ROWS + r), c == null ? 0 : c.startPosition());
      Sampling s = sampling != null && r < rows ? sampling.get(r) : Sampling.greedy();
      DeviceSampler.writeParams(b, PARAMS_OFFSET / DeviceSampler.PARAMS_BYTES + r, s);
    }
    input.copyFrom(inputHost, PARAMS_OFFSET + (long) DeviceSampler.PARAMS_BYTES * bucket, uploads);
    uploaded.record(uploads);
  }

  /**
   * Queues {@code launch} on {@code stream} behind the upload, between two events (the kernel's own time,
   * {@link #kernelMicros}; everything {@code launch} queues counts).
   */
  void timeLaunch(Runnable launch, CudaStream stream) {
    stream.waitFor(uploaded);
    launchStart.record(stream);
    launch.run();
    launchEnd.record(stream);
  }

  /** Queues the outputs' download on {@code downloads}, behind the launch. */
  void download(CudaStream downloads) {
    downloads.waitFor(launchEnd);
    output.copyTo(outputHost, OUTPUT_BYTES, downloads);
    downloaded.record(downloads);
  }

  /** Waits until the download has landed (work queued after it may still run). */
  void awaitDownload() {
    downloaded.synchronize();
  }

  /** GPU time of the launch, once it has completed. */
  double kernelMicros() {
    return 1e3 * launchEnd.millisSince(launchStart);
  }

  long stepAddress() {
    return input.address();
  }

  long outputAddress() {
    return output.address();
  }

  /** After the download: the tokens of rows 0..rows-1. */
  int[] sampled() {
    ByteBuffer b = outputHost.buffer();
    int[] out = new int[rows];
    for (int r = 0; r < rows; r++) {
      out[r] = b.getInt(4 * r);
    }
    return out;
  }

  /** After the download: the watchdog's record if launch {@code tag} failed, else null. */
  Failure failure(int tag) {
    ByteBuffer b = outputHost.buffer();
    int at = 4 * ROWS;
    if (b.getInt(at) != tag) {
      return null;
    }
    return new Failure(b.getInt(at + 4), b.getInt(at + 8), b.getInt(at + 12), b.getInt(at + 16),
        Integer.toUnsignedLong(b.getInt(at + 20)), Integer.toUnsignedLong(b.getInt(at + 24)));
  }

  @Override
  public void close() {
    input.close();
    inputHost.close();
    output.close();
    outputHost.close();
    uploaded.close();
    launchStart.close();
    launchEnd.close();
    downloaded.close();
  }
}
