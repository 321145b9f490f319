package org.sparkllm.kvcache;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * In-memory {@link VirtualMemoryDriver} that enforces CUDA's VMM rules and fails loudly on any breach:
 * aligned sizes, maps only inside reservations and never over a mapping, unmap exactly what was
 * mapped, access set after each map before use, release only unmapped handles, free only empty
 * reservations. Physical pages are byte arrays, so data written through virtual addresses can be read
 * back after remapping. A fake clock advances by a fixed cost per call, for deterministic timing.
 */
class FakeVirtualMemoryDriver implements VirtualMemoryDriver {
  static final long MAP_NANOS = 700;
  static final long SET_ACCESS_NANOS = 20_000;
  static final long UNMAP_NANOS = 14_000;

  private final long granularity;
  private final long memoryBytes;
  private final Map<Long, Long> reservations = new HashMap<>();
  private final Map<Long, byte[]> allocations = new HashMap<>();
  private final TreeMap<Long, Mapping> mappings = new TreeMap<>();
  private long nextAddress = 0x7f00_0000_0000L;
  private long nextHandle = 1;
  private long createdBytes;
  private long clockNanos;
  int reserveCalls;
  int createCalls;
  int mapCalls;
  int setAccessCalls;
  int unmapCalls;
  int releaseCalls;
  int freeCalls;

  private static final class Mapping {
    final long bytes;
    final long handle;
    boolean accessible;

    Mapping(long bytes, long handle) {
      this.bytes = bytes;
      this.handle = handle;
    }
  }

  FakeVirtualMemoryDriver(long granularity, long memoryBytes) {
    this.granularity = granularity;
    this.memoryBytes = memoryBytes;
  }

  long nanoTime() {
    return clockNanos;
  }

  /** Driver calls that change mappings: zero means a slot was reused without touching the driver. */
  int mappingCalls() {
    return mapCalls + setAccessCalls + unmapCalls;
  }

  @Override
  public long granularity() {
    return granularity;
  }

  @Override
  public long freeMemoryBytes() {
    return memoryBytes - createdBytes;
  }

  @Override
  public synchronized long reserve(long bytes) {
    requireAligned(bytes);
    reserveCalls++;
    long address = nextAddress;
    nextAddress += bytes + granularity; // a gap, so adjacent reservations never look contiguous
    reservations.put(address, bytes);
    return address;
  }

  @Override
  public synchronized void free(long address, long bytes) {
    freeCalls++;
    Long reserved = reservations.get(address);
    check(reserved != null && reserved == bytes, "free of a range that was not reserved like that");
    Map.Entry<Long, Mapping> inside = mappings.ceilingEntry(address);
    check(inside == null || inside.getKey() >= address + bytes, "free of a reservation with pages mapped");
    reservations.remove(address);
  }

  @Override
  public synchronized long create(long bytes) {
    requireAligned(bytes);
    check(createdBytes + bytes <= memoryBytes, "out of device memory");
    createCalls++;
    createdBytes += bytes;
    long handle = nextHandle++;
    allocations.put(handle, new byte[Math.toIntExact(bytes)]);
    return handle;
  }

  @Override
  public synchronized void release(long handle) {
    releaseCalls++;
    byte[] memory = allocations.get(handle);
    check(memory != null, "release of unknown or released handle " + handle);
    check(mappings.values().stream().noneMatch(m -> m.handle == handle), "release of a mapped handle " + handle);
    createdBytes -= memory.length;
    allocations.remove(handle);
  }

  @Override
  public synchronized void map(long address, long bytes, long handle) {
    mapCalls++;
    clockNanos += MAP_NANOS;
    requireAligned(address - reservationContaining(address, bytes));
    byte[] memory = allocations.get(handle);
    check(memory != null && memory.length == bytes, "map of unknown handle or with the wrong size");
    Map.Entry<Long, Mapping> before = mappings.floorEntry(address + bytes - 1);
    check(before == null || before.getKey() + before.getValue().bytes <= address, "map over a mapping");
    mappings.put(address, new Mapping(bytes, handle));
  }

  @Override
  public synchronized void setAccess(long address, long bytes) {
    setAccessCalls++;
    clockNanos += SET_ACCESS_NANOS;
    Mapping mapping = mappings.get(address);
    check(mapping != null && mapping.bytes == bytes, "setAccess on a range that is not one mapping");
    mapping.accessible = true;
  }

  @Override
  public synchronized void unmap(long address, long bytes) {
    unmapCalls++;
    clockNanos += UNMAP_NANOS;
    Mapping mapping = mappings.get(address);
    check(mapping != null && mapping.bytes == bytes, "unmap of a range that was not mapped exactly so");
    mappings.remove(address);
  }

  /** Writes like a kernel would: fails unless the address is mapped and accessible. */
  synchronized void write(long address, byte value) {
    Map.Entry<Long, Mapping> m = accessibleMappingAt(address);
    allocations.get(m.getValue().handle)[(int) (address - m.getKey())] = value;
  }

  synchronized byte read(long address) {
    Map.Entry<Long, Mapping> m = accessibleMappingAt(address);
    return allocations.get(m.getValue().handle)[(int) (address - m.getKey())];
  }

  synchronized int liveReservations() {
    return reservations.size();
  }

  synchronized int liveHandles() {
    return allocations.size();
  }

  synchronized int liveMappings() {
    return mappings.size();
  }

  private Map.Entry<Long, Mapping> accessibleMappingAt(long address) {
    Map.Entry<Long, Mapping> m = mappings.floorEntry(address);
    check(m != null && address < m.getKey() + m.getValue().bytes, "illegal address: not mapped");
    check(m.getValue().accessible, "illegal address: mapped without access");
    return m;
  }

  private long reservationContaining(long address, long bytes) {
    for (Map.Entry<Long, Long> r : reservations.entrySet()) {
      if (address >= r.getKey() && address + bytes <= r.getKey() + r.getValue()) {
        return r.getKey();
      }
    }
    throw new IllegalStateException("map outside every reservation");
  }

  private void requireAligned(long bytes) {
    check(bytes % granularity == 0, bytes + " is not a multiple of the granularity " + granularity);
  }

  private static void check(boolean rule, String breach) {
    if (!rule) {
      throw new IllegalStateException("VMM rule broken: " + breach);
    }
  }
}
