package org.sparkllm.tokenizer;

/**
 * Functions that chat templates call. Public only because jinjava invokes them reflectively; not
 * part of the tokenizer's API.
 */
public final class ChatTemplateFunctions {
  private ChatTemplateFunctions() {}

  /** {@code raise_exception(message)}: templates use it to reject conversations they cannot format. */
  public static Object raiseException(String message) {
    throw new ChatTemplateRaisedException(message);
  }

  /** Carries the template's own message out through jinjava's error reporting. */
  static final class ChatTemplateRaisedException extends RuntimeException {
    ChatTemplateRaisedException(String message) {
      super(message);
    }
  }
}
