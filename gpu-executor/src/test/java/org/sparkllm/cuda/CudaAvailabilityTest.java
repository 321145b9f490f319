package org.sparkllm.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs everywhere: the checks must answer, not throw, on machines without CUDA. */
class CudaAvailabilityTest {
  @Test
  void answersWithAReasonWhetherOrNotThereIsADriver() {
    CudaAvailability.Status status = CudaAvailability.check();
    assertNotNull(status.reason());
    assertEquals(status.usable(), status.deviceCount() > 0);
  }

  @Test
  void driverErrorsCarryTheCallAndTheErrorName() {
    CudaException e = new CudaException("cuMemMap", 1, "CUDA_ERROR_INVALID_VALUE");
    assertEquals("cuMemMap failed: CUDA_ERROR_INVALID_VALUE (1)", e.getMessage());
    try {
      CudaResults.check(2, "cuMemCreate");
    } catch (CudaException expected) {
      assertEquals("CUDA_ERROR_OUT_OF_MEMORY", expected.errorName());
      assertEquals("cuMemCreate", expected.call());
    }
  }

  @Test
  void jcudaLibraryIsPlacedCompleteAndOnlyOnce(@TempDir Path dir) throws Exception {
    Path target = dir.resolve("libJCudaDriver-12.6.0-linux-x86_64.so");
    Files.write(target, new byte[] {1, 2, 3}); // a half-written file left by a racing extraction
    JCudaNativeLoader.placeAtomically(target);
    long size = Files.size(target);
    assertTrue(size > 1_000_000, "the whole library replaced the partial file");
    long modified = Files.getLastModifiedTime(target).toMillis();
    JCudaNativeLoader.placeAtomically(target);
    assertEquals(modified, Files.getLastModifiedTime(target).toMillis(), "identical file left alone");
    try (var files = Files.list(dir)) {
      assertEquals(1, files.count(), "no temporary files left behind");
    }
  }

  @Test
  void kernelsAreEitherPresentOrReportedMissing() {
    if (KernelFatbin.present()) {
      assertTrue(KernelFatbin.read().length > 0);
    } else {
      KernelsMissingException e = org.junit.jupiter.api.Assertions.assertThrows(KernelsMissingException.class,
          KernelFatbin::read);
      assertTrue(e.getMessage().contains("nvcc"));
    }
  }
}
