package org.sparkllm.tokenizer;

/**
 * The one place that configures DJL's Hugging Face tokenizers before its native library loads (it
 * reads these settings once, when the first tokenizer is created):
 *
 * <ul>
 *   <li>{@code RUST_FLAVOR=cpu}: on a host with CUDA, DJL would otherwise look for a "cu" build of
 *       the library and try to download it. Tokenizing is CPU work; the CPU build ships in the jar.
 *   <li>{@code ai.djl.offline=true}: executors often have no internet; offline mode also forces the
 *       CPU flavour and stops DJL's usage ping (it reads cloud instance metadata over HTTP).
 * </ul>
 *
 * Environment variables of the same names still win, as DJL reads those first.
 */
final class DjlNativeSettings {
  private DjlNativeSettings() {}

  static {
    System.setProperty("RUST_FLAVOR", "cpu");
    System.setProperty("ai.djl.offline", "true");
  }

  /** Runs the static initializer above once; call before touching any DJL class. */
  static void apply() {}
}
