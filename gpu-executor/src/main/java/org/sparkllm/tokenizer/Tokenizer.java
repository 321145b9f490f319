package org.sparkllm.tokenizer;

import java.nio.file.Path;
import java.util.List;

/** A model's tokenizer (tokenizer.json + tokenizer_config.json). STUB: filled by the tokenizer work. */
public final class Tokenizer implements AutoCloseable {

  public static Tokenizer load(Path modelDir) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  public int[] encode(String text, boolean addSpecialTokens) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  public String decode(int[] ids) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  public StreamingDetokenizer newStreamingDetokenizer() {
    throw new UnsupportedOperationException("not yet implemented");
  }

  public boolean hasChatTemplate() {
    throw new UnsupportedOperationException("not yet implemented");
  }

  public String applyChatTemplate(List<ChatMessage> messages, boolean addGenerationPrompt) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  @Override
  public void close() {}
}
