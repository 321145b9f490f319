package org.sparkllm.kvcache;

/**
 * One page-set of driver work the policy decided on: map physical page-set {@code pageSet} at page
 * index {@code index} of {@code slot} in every tensor, or unmap it from there.
 */
public record PageSetAction(Kind kind, int slot, int index, int pageSet) {
  public enum Kind { MAP, UNMAP }
}
