package org.sparkllm.backend.megakernel;

import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaKernel;
import org.sparkllm.cuda.CudaModule;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.cuda.KernelArgs;
import org.sparkllm.cuda.LaunchShape;
import org.sparkllm.cuda.PinnedHostBuffer;

/**
 * Everything one batch bucket launches with, made on its first use and reused by every later step:
 * the instruction streams on the device, their counters and epoch clock, the shared-memory plan and
 * the kernel compiled for the bucket's row count.
 */
final class BucketProgram implements AutoCloseable {
  static final int THREADS = 384; // 8 consumer warps + the loader warpgroup (mk_common.cuh)

  private final InstructionStreams streams;
  private final SharedMemoryPlan plan;
  private final CudaKernel kernel;
  private final DeviceBuffer program;
  private final DeviceBuffer counters;
  private final EpochClock clock;
  private final DeviceBuffer timing; // null unless timing is on
  private final PinnedHostBuffer timingHost;

  BucketProgram(CudaContext context, CudaStream stream, CudaModule module, ModelDims dims, DeviceLimits limits,
      int rows, boolean timing, StreamBuilder.GemmSplits gemmSplits) {
    this.streams = StreamBuilder.build(dims, limits.sms(), rows, gemmSplits);
    this.plan = SharedMemoryPlan.of(rows, dims, limits.maxSharedBytes());
    this.kernel = module.kernel("mk_decode_r" + rows);
    kernel.setMaxDynamicSharedBytes(plan.bytes());
    this.program = DeviceInts.upload(context, stream, streams.encode());
    this.counters = context.allocate(4L * streams.counters());
    this.clock = new EpochClock(streams.maxProducersPerStep());
    long timingBytes = 8L * InstructionTimings.WORDS * streams.blocks() * streams.longestStream();
    this.timing = timing ? context.allocate(timingBytes) : null;
    this.timingHost = timing ? context.allocatePinned(timingBytes) : null;
  }

  InstructionStreams streams() {
    return streams;
  }

  /** The epoch the next launch runs at (after clearing the counters if they need it). */
  int prepare(CudaStream stream) {
    if (clock.clearBeforeNextStep()) {
      counters.fill((byte) 0, stream);
      clock.cleared();
    }
    return clock.epoch();
  }

  void launch(CudaStream stream, long model, long step, long output, int epoch, int tag, long watchdogCycles,
      int pagesInFlight, int l2PrefetchPages) {
    KernelArgs args = new KernelArgs().addLong(model).addLong(program.address()).addInt(streams.headerInts())
        .addLong(counters.address()).addLong(step).addLong(output).addInt(epoch).addInt(tag).addInt(plan.pages())
        .addInt(plan.pagesOffset()).addLong(watchdogCycles).addLong(timing == null ? 0 : timing.address())
        .addInt(streams.longestStream()).addInt(pagesInFlight).addInt(l2PrefetchPages);
    kernel.launch(new LaunchShape(streams.blocks(), 1, 1, THREADS, 1, 1, plan.bytes()), stream, args);
    if (timing != null) {
      timing.copyTo(timingHost, timing.bytes(), stream);
    }
  }

  /**
   * A launch was queued: the next one runs at the next epoch, since the counters reach it when this one
   * completes (a launch queued behind it on the stream starts after). If this one fails, {@link #failed}.
   */
  void launched() {
    clock.advance();
  }

  /** The launch failed: counters must be cleared before the next one. */
  void failed() {
    clock.invalidate();
  }

  /**
   * Counts {@code steps} launches that never ran, as a lost step would: the next launch waits for
   * targets its counters cannot reach (tests of the watchdog).
   */
  void skipEpochs(int steps) {
    for (int i = 0; i < steps; i++) {
      clock.advance();
    }
  }

  /** After a completed launch with timing on: adds its timestamps. */
  void addTimings(InstructionTimings timings) {
    if (timing != null) {
      timings.add(streams, timingHost.buffer(), streams.longestStream());
    }
  }

  @Override
  public void close() {
    program.close();
    counters.close();
    if (timing != null) {
      timing.close();
      timingHost.close();
    }
  }
}
