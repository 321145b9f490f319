package org.sparkllm.backend.megakernel;

/**
 * A decode step of the megakernel gave up instead of hanging: a spin (a dependency counter, a weight page or
 * activation slice that never landed, or a flagged word that never carried the step's tag) ran past its budget.
 * Names what was waited for, so the stream or the counter that went wrong can be found.
 */
public final class MegakernelWatchdogException extends RuntimeException {
  MegakernelWatchdogException(int rows, int epoch, MegakernelStep.Failure f, double budgetMillis) {
    super(describe(rows, epoch, f, budgetMillis));
  }

  private static String describe(int rows, int epoch, MegakernelStep.Failure f, double budgetMillis) {
    String what = switch (f.code()) {
      case 1 -> "counter " + f.counter() + " stayed at " + f.value() + ", below its target " + f.target()
          + " (instruction " + f.instruction() + ")";
      case 2 -> "weight page " + f.value() + " (ring slot " + f.counter() + ") never landed";
      case 3 -> "activation slice " + f.value() + " of row group " + f.counter() + " never landed";
      case 4 -> "word " + f.value() + " of the flagged residual never carried the launch's tag " + f.target();
      default -> "failure code " + f.code();
    };
    return "megakernel watchdog: block " + f.block() + " waited over " + budgetMillis + " ms in the " + rows
        + "-row bucket at epoch " + epoch + ": " + what;
  }
}
