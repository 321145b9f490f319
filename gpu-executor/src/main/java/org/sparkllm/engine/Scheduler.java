package org.sparkllm.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.sparkllm.backend.KvCache;

/**
 * Continuous batching: decides, each step, which sequences run and how many of their tokens.
 *
 * <p>Running sequences go first, in admission order, each with all its pending tokens (one when
 * decoding, a chunk of its prompt while prefilling) until the step's token budget is spent. When the
 * KV cache cannot grow a running sequence, the most recently admitted one is preempted: its slot is
 * released and it goes back to the head of the queue to be recomputed later (recompute, not swap).
 * Waiting sequences are admitted in arrival order while a slot is free, the budget lasts, and the free
 * pages cover their whole pending length — and never in a step that had to preempt.
 */
final class Scheduler {
  /** A sequence's share of one step. */
  record Scheduled(Sequence sequence, int startPosition, int tokens) {
    boolean completesSequence() {
      return startPosition + tokens == sequence.length();
    }
  }

  private final KvCache kvCache;
  private final int maxBatchTokens;
  private final Deque<Sequence> waiting = new ArrayDeque<>();
  private final List<Sequence> running = new ArrayList<>();
  private long preemptions;

  Scheduler(KvCache kvCache, int maxBatchTokens) {
    this.kvCache = kvCache;
    this.maxBatchTokens = maxBatchTokens;
  }

  void add(Sequence sequence) {
    waiting.addLast(sequence);
  }

  boolean isIdle() {
    return waiting.isEmpty() && running.isEmpty();
  }

  int runningCount() {
    return running.size();
  }

  int waitingCount() {
    return waiting.size();
  }

  long preemptions() {
    return preemptions;
  }

  /** Frees the slot of a sequence that finished, failed or was cancelled. */
  void remove(Sequence sequence) {
    if (running.remove(sequence)) {
      kvCache.releaseSlot(sequence.slot);
      sequence.slot = -1;
    } else {
      waiting.remove(sequence);
    }
  }

  /** All sequences the engine holds, running then waiting. */
  List<Sequence> all() {
    List<Sequence> all = new ArrayList<>(running);
    all.addAll(waiting);
    return all;
  }

  /** Plans one step; capacity for every planned token is already reserved when this returns. */
  List<Scheduled> schedule() {
    List<Scheduled> plan = new ArrayList<>();
    int budget = maxBatchTokens;
    boolean preempted = false;
    for (int i = 0; i < running.size() && budget > 0; ) {
      Sequence sequence = running.get(i);
      int chunk = Math.min(sequence.pending(), budget);
      while (!kvCache.ensureCapacity(sequence.slot, sequence.computed + chunk)) {
        preempt(running.get(running.size() - 1));
        preempted = true;
        if (sequence.slot < 0) {
          break;
        }
      }
      if (sequence.slot < 0) {
        break; // it was the most recent one itself, so nothing after it is running either
      }
      plan.add(new Scheduled(sequence, sequence.computed, chunk));
      budget -= chunk;
      i++;
    }
    while (!preempted && budget > 0 && !waiting.isEmpty()) {
      Sequence sequence = waiting.peekFirst();
      if (kvCache.pagesFor(sequence.length() + 1) > kvCache.freePages()) {
        break;
      }
      int slot = kvCache.acquireSlot();
      if (slot < 0) {
        break;
      }
      waiting.pollFirst();
      sequence.slot = slot;
      int chunk = Math.min(sequence.pending(), budget);
      kvCache.ensureCapacity(slot, chunk);
      running.add(sequence);
      plan.add(new Scheduled(sequence, 0, chunk));
      budget -= chunk;
    }
    return plan;
  }

  private void preempt(Sequence sequence) {
    running.remove(sequence);
    kvCache.releaseSlot(sequence.slot);
    sequence.slot = -1;
    sequence.computed = 0;
    sequence.preemptions++;
    preemptions++;
    waiting.addFirst(sequence);
  }
}
