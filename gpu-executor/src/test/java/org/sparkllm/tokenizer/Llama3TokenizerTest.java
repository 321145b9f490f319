package org.sparkllm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Runs against a real Llama 3 tokenizer when SPARKLLM_LLAMA3_TOKENIZER_DIR names a directory with
 * its tokenizer.json and tokenizer_config.json; skipped otherwise (the files are not ours to ship).
 */
class Llama3TokenizerTest {
  private static Tokenizer tokenizer;

  @BeforeAll
  static void load() {
    String dir = System.getenv("SPARKLLM_LLAMA3_TOKENIZER_DIR");
    assumeTrue(dir != null && !dir.isBlank(), "SPARKLLM_LLAMA3_TOKENIZER_DIR is not set");
    tokenizer = Tokenizer.load(Path.of(dir));
  }

  @AfterAll
  static void close() {
    if (tokenizer != null) {
      tokenizer.close();
    }
  }

  @Test
  void hasTheLlama3Vocabulary() {
    assertEquals(128256, tokenizer.vocabSize());
    assertEquals(128000, tokenizer.tokenId("<|begin_of_text|>").getAsInt());
    assertEquals(128009, tokenizer.tokenId("<|eot_id|>").getAsInt());
  }

  @Test
  void roundTripsAndStreamsTheTestTexts() {
    for (String text : TestTexts.load()) {
      TokenizerAssertions.assertRoundTrip(tokenizer, text);
      TokenizerAssertions.assertStreamsLikeDecode(tokenizer, tokenizer.encode(text, false));
    }
  }

  @Test
  void rendersTheChatTemplate() {
    assertTrue(tokenizer.hasChatTemplate());
    String prompt = tokenizer.applyChatTemplate(List.of(
        new ChatMessage("system", "You are terse."), new ChatMessage("user", " Hi! ")), true);
    assertTrue(prompt.startsWith("<|begin_of_text|>"), prompt);
    assertTrue(prompt.endsWith("<|start_header_id|>assistant<|end_header_id|>\n\n"), prompt);
    assertTrue(prompt.contains("You are terse.<|eot_id|>"), prompt);
    // the templates write `'...' + message['content'] | trim + '<|eot_id|>'`: only content is trimmed
    assertTrue(prompt.contains("<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"), prompt);
  }
}
