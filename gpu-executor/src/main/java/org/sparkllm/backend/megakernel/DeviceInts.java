package org.sparkllm.backend.megakernel;

import java.nio.ByteBuffer;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.cuda.PinnedHostBuffer;

/** Int tables (instruction streams, row permutations) copied to the device once. */
final class DeviceInts {
  private DeviceInts() {}

  static DeviceBuffer upload(CudaContext context, CudaStream stream, int[] values) {
    DeviceBuffer device = context.allocate(4L * values.length);
    try (PinnedHostBuffer host = context.allocatePinned(4L * values.length)) {
      ByteBuffer b = host.buffer();
      for (int v : values) {
        b.putInt(v);
      }
      device.copyFrom(host, 4L * values.length, stream);
      stream.synchronize(); // the pinned buffer is freed next
    } catch (RuntimeException e) {
      device.close();
      throw e;
    }
    return device;
  }
}
