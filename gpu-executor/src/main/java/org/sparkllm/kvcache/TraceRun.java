package org.sparkllm.kvcache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Drives a {@link DecodeTrace} through the cache the way the engine will: finish, admit, grow by one
 * token, {@link VAttentionKvCache#awaitMapped()}, then the step's kernels (the {@link StepWork}).
 *
 * <p>Blocking is reported separately for the warm-up (until the trace first runs its full
 * concurrency: every slot then needs its first pages at once, more than a step can hide) and for the
 * steady state after it, which is what a long batch job sees.
 */
public final class TraceRun {

  /** The step's device work over the running slots' new positions [starts[i], ends[i]). */
  public interface StepWork {
    void run(int count, int[] slots, int[] starts, int[] ends);
  }

  private static final class Running {
    final int slot;
    final int finalTokens;
    int tokens;
    int writtenTokens;

    Running(int slot, int tokens, int finalTokens) {
      this.slot = slot;
      this.tokens = tokens;
      this.finalTokens = finalTokens;
    }
  }

  private TraceRun() {}

  public static TraceResult run(VAttentionKvCache cache, DecodeTrace trace, int steps, StepWork work) {
    List<Running> running = new ArrayList<>();
    long[] blockedNanos = new long[steps];
    int warmupSteps = steps;
    long completed = 0;
    long preempted = 0;
    WasteMeter pageWaste = new WasteMeter(cache.pageTokens());
    WasteMeter blockWaste = new WasteMeter(16);
    int[] slots = new int[cache.maxSlots()];
    int[] starts = new int[cache.maxSlots()];
    int[] ends = new int[cache.maxSlots()];
    for (int step = 0; step < steps; step++) {
      for (int i = running.size() - 1; i >= 0; i--) {
        if (running.get(i).tokens >= running.get(i).finalTokens) {
          cache.releaseSlot(running.remove(i).slot);
          completed++;
        }
      }
      for (Running r : running) {
        if (cache.ensureCapacity(r.slot, r.tokens + 1)) {
          r.tokens++;
        } else {
          r.tokens = r.finalTokens; // dropped: released at the next step
          preempted++;
        }
      }
      for (int a = 0; a < trace.maxArrivalsPerStep() && running.size() < trace.concurrency(); a++) {
        int prompt = trace.nextPromptTokens();
        int slot = cache.acquireSlot(prompt);
        if (slot < 0) {
          break;
        }
        if (!cache.ensureCapacity(slot, prompt)) {
          cache.releaseSlot(slot);
          break;
        }
        running.add(new Running(slot, prompt, trace.nextFinalTokens(prompt)));
      }
      if (warmupSteps == steps && running.size() == trace.concurrency()) {
        warmupSteps = step + 1;
      }
      blockedNanos[step] = cache.awaitMapped();
      int count = 0;
      for (Running r : running) {
        if (r.tokens > r.writtenTokens) {
          slots[count] = r.slot;
          starts[count] = r.writtenTokens;
          ends[count] = r.tokens;
          count++;
          r.writtenTokens = r.tokens;
        }
        pageWaste.add(r.tokens);
        blockWaste.add(r.tokens);
      }
      work.run(count, slots, starts, ends);
    }
    Blocking warmup = Blocking.of(Arrays.copyOfRange(blockedNanos, 0, warmupSteps));
    Blocking steady = Blocking.of(Arrays.copyOfRange(blockedNanos, warmupSteps, steps));
    return new TraceResult(steps, warmupSteps, steady.fraction, steady.p99Micros, steady.maxMicros,
        warmup.fraction, warmup.maxMicros, pageWaste.wastePct(), blockWaste.wastePct(), completed, preempted);
  }

  /** How often and how long steps were blocked in one phase of the trace. */
  private record Blocking(double fraction, double p99Micros, double maxMicros) {
    static Blocking of(long[] nanos) {
      if (nanos.length == 0) {
        return new Blocking(0, 0, 0);
      }
      long[] sorted = nanos.clone();
      Arrays.sort(sorted);
      long blocked = Arrays.stream(sorted).filter(n -> n > 0).count();
      int p99 = Math.max(0, (int) Math.ceil(0.99 * sorted.length) - 1);
      return new Blocking((double) blocked / sorted.length, sorted[p99] / 1e3, sorted[sorted.length - 1] / 1e3);
    }
  }
}
