package org.sparkllm.kvcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The fake must catch the breaches it exists to catch, or the cache tests prove nothing. */
class FakeVirtualMemoryDriverTest {
  private final FakeVirtualMemoryDriver driver = new FakeVirtualMemoryDriver(4096, 1 << 20);

  @Test
  void enforcesTheVmmRules() {
    long base = driver.reserve(4 * 4096);
    long a = driver.create(4096);
    long b = driver.create(4096);
    driver.map(base, 4096, a);
    assertThrows(IllegalStateException.class, () -> driver.write(base, (byte) 1), "no access set yet");
    driver.setAccess(base, 4096);
    driver.write(base + 5, (byte) 7);
    assertEquals(7, driver.read(base + 5));
    assertThrows(IllegalStateException.class, () -> driver.map(base, 4096, b), "double map");
    assertThrows(IllegalStateException.class, () -> driver.read(base + 4096), "unmapped read");
    assertThrows(IllegalStateException.class, () -> driver.unmap(base, 2 * 4096), "unmap more than mapped");
    assertThrows(IllegalStateException.class, () -> driver.release(a), "release while mapped");
    assertThrows(IllegalStateException.class, () -> driver.free(base, 4 * 4096), "free while mapped");
    assertThrows(IllegalStateException.class, () -> driver.map(base + 100 * 4096, 4096, b), "outside reservation");
    driver.unmap(base, 4096);
    driver.map(base + 4096, 4096, a);
    driver.setAccess(base + 4096, 4096);
    assertEquals(7, driver.read(base + 4096 + 5), "physical data survives a remap");
    driver.unmap(base + 4096, 4096);
    driver.release(a);
    driver.release(b);
    driver.free(base, 4 * 4096);
    assertEquals(0, driver.liveHandles() + driver.liveMappings() + driver.liveReservations());
  }
}
