package org.sparkllm.kvcache;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import org.sparkllm.backend.KvCache;

/**
 * The vAttention KV cache: per-layer virtual K and V tensors in one address reservation, backed by a
 * pool of physical page-sets created once up front, mapped into slots as {@link PageSetPolicy}
 * decides. Kernels address slot {@code s}, position {@code p} of tensor {@code t} at
 * {@code tensorAddress(t) + s * slotStrideBytes + p * tokenBytes}: plain contiguous memory, no block
 * tables.
 *
 * <p>Threads: the engine's step thread calls the {@link KvCache} methods (accounting only, no driver
 * call) and {@link #awaitMapped()} before each forward pass; the optional background mapper executes
 * policy actions ahead of need. Driver calls run outside the lock, so the step waits only for work it
 * actually needs.
 */
public final class VAttentionKvCache implements KvCache, AutoCloseable {
  private final KvCacheShape shape;
  private final VirtualMemoryDriver driver;
  private final LongSupplier nanoClock;
  private final PageSetPolicy policy;
  private final long reservation;
  private final long reservationBytes;
  private final long[] handles;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final BackgroundMapper mapper;
  private RuntimeException failure;
  private boolean closed;
  private long steps;
  private long blockedSteps;
  private long blockedNanos;
  private long maxBlockedNanos;
  private long backgroundActions;
  private long stepActions;

  /** Sizes the pool from {@code options.memoryFraction()} of the driver's free memory less the reserve. */
  public static VAttentionKvCache create(KvCacheShape shape, KvCacheOptions options, VirtualMemoryDriver driver) {
    long budget = options.budget(driver.freeMemoryBytes());
    long fit = budget / shape.pageSetBytes();
    int pageSets = (int) Math.min(fit, (long) shape.maxSlots() * shape.pageSetsPerSlot());
    return new VAttentionKvCache(shape, pageSets, options, driver, System::nanoTime);
  }

  public VAttentionKvCache(KvCacheShape shape, int pageSets, KvCacheOptions options, VirtualMemoryDriver driver,
      LongSupplier nanoClock) {
    if (shape.pageBytes() % driver.granularity() != 0) {
      throw new IllegalArgumentException("page of " + shape.pageBytes() + " bytes is not a multiple of the "
          + "driver granularity " + driver.granularity());
    }
    this.shape = shape;
    this.driver = driver;
    this.nanoClock = nanoClock;
    this.policy = new PageSetPolicy(shape, pageSets, options.lookaheadTokens(), options.spareSlots());
    this.reservationBytes = shape.tensors() * shape.tensorBytes();
    this.reservation = driver.reserve(reservationBytes);
    this.handles = new long[pageSets * shape.tensors()];
    int created = 0;
    try {
      for (; created < handles.length; created++) {
        handles[created] = driver.create(shape.pageBytes());
      }
    } catch (RuntimeException e) {
      for (int h = 0; h < created; h++) {
        driver.release(handles[h]);
      }
      driver.free(reservation, reservationBytes);
      throw e;
    }
    this.mapper = options.backgroundMapping() ? new BackgroundMapper(this) : null;
    if (mapper != null) {
      mapper.start();
    }
  }

  public KvCacheShape shape() {
    return shape;
  }

  /** Start of virtual tensor {@code tensor}: 2l is layer l's keys, 2l+1 its values. */
  public long tensorAddress(int tensor) {
    return reservation + tensor * shape.tensorBytes();
  }

  public long keyAddress(int layer) {
    return tensorAddress(2 * layer);
  }

  public long valueAddress(int layer) {
    return tensorAddress(2 * layer + 1);
  }

  public long slotStrideBytes() {
    return shape.slotStrideBytes();
  }

  @Override
  public int maxSlots() {
    return shape.maxSlots();
  }

  @Override
  public int pageTokens() {
    return shape.pageTokens();
  }

  /** Page-sets (one page per layer, K and V) not granted to a running slot. */
  @Override
  public int freePages() {
    return withLock(policy::freePageSets);
  }

  @Override
  public int totalPages() {
    return policy.totalPageSets();
  }

  /** Admission query: tokens the scheduler may still promise. */
  public long freeCapacityTokens() {
    return withLock(policy::freeCapacityTokens);
  }

  @Override
  public int acquireSlot() {
    return acquireSlot(shape.pageTokens());
  }

  /** The best-fit free slot for a request of about {@code expectedTokens}, or -1. */
  public int acquireSlot(int expectedTokens) {
    return withLockAndSignal(() -> policy.acquireSlot(expectedTokens));
  }

  @Override
  public boolean ensureCapacity(int slot, int tokens) {
    return withLockAndSignal(() -> policy.ensureCapacity(slot, tokens));
  }

  @Override
  public void releaseSlot(int slot) {
    withLockAndSignal(() -> {
      policy.releaseSlot(slot);
      return null;
    });
  }

  /**
   * Blocks until every granted page-set is mapped: call before the kernels of a step touch the cache.
   * Work the mapper has in flight is waited for; work nobody started is done here.
   *
   * @return nanoseconds this step was blocked (0 when the background work was ahead)
   */
  public long awaitMapped() {
    long start = nanoClock.getAsLong();
    boolean blocked = false;
    lock.lock();
    try {
      checkUsable();
      while (!policy.grantsMapped()) {
        blocked = true;
        PageSetAction action = policy.nextRequiredAction();
        if (action == null) {
          changed.awaitUninterruptibly();
          checkUsable();
        } else {
          executeUnlocked(action);
          stepActions++;
        }
      }
      long waited = blocked ? nanoClock.getAsLong() - start : 0;
      steps++;
      if (blocked) {
        blockedSteps++;
        blockedNanos += waited;
        maxBlockedNanos = Math.max(maxBlockedNanos, waited);
      }
      return waited;
    } finally {
      lock.unlock();
    }
  }

  public KvCacheMetrics metrics() {
    return withLock(() -> {
      long grantedTokens = 0;
      for (int s = 0; s < shape.maxSlots(); s++) {
        grantedTokens += (long) policy.grantedPageSets(s) * shape.pageTokens();
      }
      return new KvCacheMetrics(policy.mappedPageSets(), policy.unmappedPageSets(), policy.freePageSets(),
          policy.wastedTokens(), grantedTokens, policy.lookaheadHits(), policy.lookaheadMisses(),
          policy.reusedSlots(), steps, blockedSteps, blockedNanos, maxBlockedNanos, backgroundActions,
          stepActions);
    });
  }

  /** Page-sets mapped in {@code slot} (running or idle). */
  public int mappedPageSets(int slot) {
    return withLock(() -> policy.mappedPageSets(slot));
  }

  /** Runs background work on the calling thread until none is left (tests without the mapper thread). */
  void mapAheadNow() {
    if (mapper != null) {
      throw new IllegalStateException("the background mapper thread owns look-ahead");
    }
    while (runOneBackgroundAction(false)) {
      // each call maps or unmaps one page-set
    }
  }

  /**
   * One background action: picks it under the lock, executes it outside. When {@code wait}, sleeps
   * until there is work or the cache closes.
   *
   * @return false when there was nothing to do (or the cache closed)
   */
  boolean runOneBackgroundAction(boolean wait) {
    lock.lock();
    try {
      PageSetAction action;
      while (true) {
        if (closed || failure != null) {
          return false;
        }
        action = policy.nextBackgroundAction();
        if (action != null) {
          break;
        }
        if (!wait) {
          return false;
        }
        changed.awaitUninterruptibly();
      }
      executeUnlocked(action);
      backgroundActions++;
      return true;
    } finally {
      lock.unlock();
    }
  }

  void attachMapperThread() {
    driver.attachThread();
  }

  void recordFailure(RuntimeException e) {
    lock.lock();
    try {
      failure = e;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Runs the driver calls of {@code action} with the lock released, then commits it under the lock. */
  private void executeUnlocked(PageSetAction action) {
    lock.unlock();
    try {
      execute(action);
    } catch (RuntimeException e) {
      lock.lock();
      failure = e;
      changed.signalAll();
      throw e;
    }
    lock.lock();
    policy.commit(action);
    changed.signalAll();
  }

  private void execute(PageSetAction action) {
    long pageBytes = shape.pageBytes();
    for (int t = 0; t < shape.tensors(); t++) {
      long address = tensorAddress(t) + action.slot() * shape.slotStrideBytes() + action.index() * pageBytes;
      if (action.kind() == PageSetAction.Kind.MAP) {
        driver.map(address, pageBytes, handles[action.pageSet() * shape.tensors() + t]);
        driver.setAccess(address, pageBytes);
      } else {
        driver.unmap(address, pageBytes);
      }
    }
  }

  private void checkUsable() {
    if (closed) {
      throw new IllegalStateException("KV cache is closed");
    }
    if (failure != null) {
      throw new IllegalStateException("KV cache mapping failed", failure);
    }
  }

  /** Stops the mapper, unmaps every page-set, releases every handle and the address reservation. */
  @Override
  public void close() {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    if (mapper != null) {
      mapper.stopAndJoin();
    }
    for (int s = 0; s < shape.maxSlots(); s++) {
      for (int index = policy.mappedPageSets(s) - 1; index >= 0; index--) {
        execute(new PageSetAction(PageSetAction.Kind.UNMAP, s, index, policy.pageSetAt(s, index)));
      }
    }
    for (long handle : handles) {
      driver.release(handle);
    }
    driver.free(reservation, reservationBytes);
  }

  private <T> T withLock(java.util.function.Supplier<T> body) {
    lock.lock();
    try {
      return body.get();
    } finally {
      lock.unlock();
    }
  }

  private <T> T withLockAndSignal(java.util.function.Supplier<T> body) {
    lock.lock();
    try {
      checkUsable();
      T result = body.get();
      changed.signalAll();
      return result;
    } finally {
      lock.unlock();
    }
  }
}
