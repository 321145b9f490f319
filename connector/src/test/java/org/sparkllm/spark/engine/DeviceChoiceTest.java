package org.sparkllm.spark.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class DeviceChoiceTest {
  @Test
  void autoPicksTheMegakernelOnHopperAndTheCudaBackendOnOtherGpus() {
    assertEquals("megakernel", DeviceChoice.gpuBackendFor(9));
    assertEquals("cuda", DeviceChoice.gpuBackendFor(8));
    assertEquals("cuda", DeviceChoice.gpuBackendFor(10));
  }

  @Test
  void withoutAnAssignedGpuAutoRunsOnTheCpu() {
    assertEquals(new DeviceChoice.Choice("cpu", "cpu"), DeviceChoice.choose(new String[0], "auto"));
    assertEquals(new DeviceChoice.Choice("cpu", "cpu"), DeviceChoice.choose(null, "auto"));
  }
}
