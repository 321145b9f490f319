package org.sparkllm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkllm.checkpoint.TinyTokenizerWriter;

/**
 * Our tokenizer and chat template against Hugging Face's: ids from the tokenizers library and the
 * chat prompt rendered by transformers, written by scripts/hf_reference.py and committed under
 * src/test/resources/golden/.
 */
class TokenizerReferenceTest {

  @Test
  void generatedTokenizerMatchesHuggingFace(@TempDir Path dir) throws Exception {
    TinyTokenizerWriter.write(dir, 512);
    compare(dir, golden("hf-tokenizer-tiny.json"));
  }

  /** Set SPARKLLM_LLAMA3_TOKENIZER_DIR to a directory with Llama 3's tokenizer files to run it. */
  @Test
  void realLlama3TokenizerMatchesHuggingFace() throws Exception {
    String dir = System.getenv("SPARKLLM_LLAMA3_TOKENIZER_DIR");
    assumeTrue(dir != null && !dir.isBlank(), "SPARKLLM_LLAMA3_TOKENIZER_DIR is not set");
    compare(Path.of(dir), golden("hf-tokenizer-llama3.json"));
  }

  private static void compare(Path dir, JsonNode golden) throws Exception {
    assertEquals(
        golden.get("tokenizer_json_sha256").asText(),
        sha256(dir.resolve("tokenizer.json")),
        dir + "/tokenizer.json is not the file the reference ids were made from");
    List<String> texts = TestTexts.load();
    try (Tokenizer tokenizer = Tokenizer.load(dir)) {
      for (int i = 0; i < texts.size(); i++) {
        int[] expected = ints(golden.get("ids").get(i));
        assertArrayEquals(expected, tokenizer.encode(texts.get(i), true), "text " + i + ": " + texts.get(i));
      }
      List<ChatMessage> messages = new ArrayList<>();
      for (JsonNode m : golden.get("chat_messages")) {
        messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
      }
      assertEquals(golden.get("chat_rendered").asText(), tokenizer.applyChatTemplate(messages, true));
    }
  }

  private static int[] ints(JsonNode array) {
    int[] values = new int[array.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = array.get(i).asInt();
    }
    return values;
  }

  private static JsonNode golden(String name) throws Exception {
    try (InputStream in = TokenizerReferenceTest.class.getResourceAsStream("/golden/" + name)) {
      if (in == null) {
        throw new IllegalStateException("missing golden file /golden/" + name);
      }
      return new ObjectMapper().readTree(in);
    }
  }

  private static String sha256(Path file) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }
}
