package org.sparkllm.checkpoint;

import java.util.Arrays;

/**
 * One weight of a generated checkpoint and the distribution its values are drawn from.
 *
 * @param shape Hugging Face layout: linear weights are [out_features, in_features], row-major
 */
record PlannedTensor(String name, long[] shape, double mean, double std) {
  long elementCount() {
    return Arrays.stream(shape).reduce(1, Math::multiplyExact);
  }
}
