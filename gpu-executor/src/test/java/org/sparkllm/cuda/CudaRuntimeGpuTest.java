package org.sparkllm.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.sparkllm.kvcache.KvPatternKernels;

/** Context, fatbin module, launches, streams, events, buffers, graphs and tensor maps on a real device. */
@Tag("gpu")
class CudaRuntimeGpuTest {
  @BeforeEach
  void requireGpu() {
    GpuTests.assumeCudaDevice();
  }

  @Test
  void kernelsWriteAndCheckPlainDeviceMemoryAlsoThroughAGraph() {
    try (CudaContext context = CudaContext.openPrimary(0);
        DeviceBuffer tensor = context.allocate(4L * 1024 * 128 * 2)) {
      assertTrue(context.deviceName().length() > 0);
      long stride = 1024L * 128 * 2;
      long[] bases = {tensor.address()};
      try (KvPatternKernels kernels = new KvPatternKernels(context, bases, stride, 128, 4)) {
        int[] slots = {0, 1, 2, 3};
        int[] starts = {0, 0, 10, 0};
        int[] ends = {1024, 5, 700, 1};
        kernels.fill(4, slots, starts, ends, 7);
        assertEquals(0, kernels.countMismatches(4, slots, starts, ends, 7));
        // 16-bit patterns of two seeds collide on about 1 element in 32768.
        assertTrue(kernels.countMismatches(1, slots, starts, ends, 8) > 1000L * 128, "another seed differs");
      }
    }
  }

  @Test
  void streamsEventsPinnedCopiesAndGraphReplay() {
    try (CudaContext context = CudaContext.openPrimary(0);
        CudaStream stream = context.createStream();
        CudaEvent start = context.createEvent();
        CudaEvent end = context.createEvent();
        DeviceBuffer device = context.allocate(1 << 20);
        PinnedHostBuffer host = context.allocatePinned(1 << 20)) {
      start.record(stream);
      device.fill((byte) 5, stream);
      device.copyTo(host, 1 << 20, stream);
      end.record(stream);
      end.synchronize();
      assertEquals(5, host.buffer().get(12345));
      assertTrue(end.millisSince(start) >= 0);
      try (CudaGraph graph = CudaGraph.capture(stream, () -> device.fill((byte) 9, stream))) {
        device.fill((byte) 0, stream);
        graph.launch(stream);
        device.copyTo(host, 1 << 20, stream);
        stream.synchronize();
        assertEquals(9, host.buffer().get(777));
      }
    }
  }

  @Test
  void tensorMapsAreEncodedThroughJnaAndBadStridesAreRejected() {
    try (CudaContext context = CudaContext.openPrimary(0); DeviceBuffer matrix = context.allocate(1 << 20)) {
      byte[] map = TensorMaps.bf16Swizzle128(matrix.address(), 100, 512, 1024, 128, 64);
      assertEquals(TensorMaps.BYTES, map.length);
      assertTrue(IntStream.range(0, map.length).anyMatch(i -> map[i] != 0), "the driver wrote the map");
      // Row strides must be multiples of 16 bytes.
      CudaException e = assertThrows(CudaException.class,
          () -> TensorMaps.bf16Swizzle128(matrix.address(), 100, 512, 1032, 128, 64));
      assertEquals("CUDA_ERROR_INVALID_VALUE", e.errorName());
      assertTrue(e.getMessage().startsWith("cuTensorMapEncodeTiled"));
      assertThrows(IllegalArgumentException.class,
          () -> TensorMaps.bf16Swizzle128(matrix.address(), 100, 512, 1024, 128, 128));
    }
  }

  @Test
  void driverErrorsNameTheCall() {
    try (CudaContext context = CudaContext.openPrimary(0)) {
      CudaException e = assertThrows(CudaException.class, () -> context.allocate(1L << 50));
      assertEquals("CUDA_ERROR_OUT_OF_MEMORY", e.errorName());
      assertTrue(e.getMessage().startsWith("cuMemAlloc"));
    }
  }
}
