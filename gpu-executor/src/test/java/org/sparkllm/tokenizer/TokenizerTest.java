package org.sparkllm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkllm.checkpoint.TinyTokenizerWriter;
import org.sparkllm.model.ModelLoadException;

/** The tokenizer over the generated 512-id Llama-3-style tokenizer. */
class TokenizerTest {
  @TempDir static Path dir;
  private static TinyTokenizerWriter.SpecialTokens specials;
  private static Tokenizer tokenizer;

  @BeforeAll
  static void load() {
    specials = TinyTokenizerWriter.write(dir, 512);
    tokenizer = Tokenizer.load(dir);
  }

  @AfterAll
  static void close() {
    tokenizer.close();
  }

  @Test
  void roundTripsMultilingualTexts() {
    List<String> texts = TestTexts.load();
    assertTrue(texts.size() >= 20);
    for (String text : texts) {
      TokenizerAssertions.assertRoundTrip(tokenizer, text);
    }
  }

  @Test
  void learnedMergesAreUsed() {
    int[] ids = tokenizer.encode("the same task", false);
    assertTrue(ids.length < "the same task".length(), "only bytes: " + ids.length + " ids");
  }

  @Test
  void streamingGivesTheFullDecodeWithoutPartialCharacters() {
    for (String text : TestTexts.load()) {
      TokenizerAssertions.assertStreamsLikeDecode(tokenizer, tokenizer.encode(text, false));
    }
  }

  @Test
  void streamingHoldsBackAnIncompleteCharacter() {
    // a character the corpus never shows, so its four bytes stay in more than one token
    String rare = "\uD80C\uDC00"; // U+13000
    int[] ids = tokenizer.encode(rare, false);
    assertTrue(ids.length >= 2, ids.length + " ids");
    StreamingDetokenizer stream = tokenizer.newStreamingDetokenizer();
    for (int i = 0; i < ids.length - 1; i++) {
      assertEquals("", stream.append(ids[i]));
    }
    assertEquals(rare, stream.append(ids[ids.length - 1]));
  }

  @Test
  void finishReturnsAnIncompleteTailAsReplacementCharacter() {
    int[] ids = tokenizer.encode("a🚀", false);
    int[] cut = Arrays.copyOf(ids, ids.length - 1);
    StreamingDetokenizer stream = tokenizer.newStreamingDetokenizer();
    StringBuilder pieces = new StringBuilder();
    for (int id : cut) {
      pieces.append(stream.append(id));
    }
    assertEquals("a", pieces.toString());
    pieces.append(stream.finish());
    assertEquals(tokenizer.decode(cut), pieces.toString());
    assertTrue(pieces.toString().endsWith("\uFFFD"));
  }

  @Test
  void doesNotTruncateLongInputs() {
    String text = "🚀 x9 ".repeat(2000);
    int[] ids = tokenizer.encode(text, false);
    assertTrue(ids.length > 10_000, ids.length + " ids");
    assertEquals(text, tokenizer.decode(ids));
  }

  @Test
  void addSpecialTokensPutsBosFirst() {
    int[] without = tokenizer.encode("Hello", false);
    int[] with = tokenizer.encode("Hello", true);
    assertEquals(without.length + 1, with.length);
    assertEquals(specials.beginOfText(), with[0]);
    assertEquals(specials.beginOfText(), tokenizer.bosId().getAsInt());
  }

  @Test
  void specialTokensEncodeToTheirIdsAndDecodeToNothing() {
    int[] ids = tokenizer.encode("<|start_header_id|>user<|end_header_id|>hi<|eot_id|>", false);
    assertEquals(tokenizer.tokenId("<|start_header_id|>").getAsInt(), ids[0]);
    assertEquals(specials.eotId(), ids[ids.length - 1]);
    assertEquals("userhi", tokenizer.decode(ids));
  }

  @Test
  void decodeKeepsSpacesBeforePunctuation() {
    assertEquals("a . b , c", tokenizer.decode(tokenizer.encode("a . b , c", false)));
  }

  @Test
  void chatTemplateRendersSystemAndUserWithGenerationPrompt() {
    assertTrue(tokenizer.hasChatTemplate());
    String prompt = tokenizer.applyChatTemplate(List.of(
        new ChatMessage("system", " You are terse.\n"), new ChatMessage("user", "Hi!")), true);
    assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
        + "You are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
        + "<|start_header_id|>assistant<|end_header_id|>\n\n", prompt);
    int[] ids = tokenizer.encode(prompt, false);
    assertEquals(specials.beginOfText(), ids[0]);
    assertEquals(2, Arrays.stream(ids).filter(id -> id == specials.eotId()).count());
  }

  @Test
  void chatTemplateWithoutGenerationPromptEndsWithTheLastMessage() {
    String prompt = tokenizer.applyChatTemplate(List.of(new ChatMessage("user", "Hi!")), false);
    assertTrue(prompt.endsWith("Hi!<|eot_id|>"), prompt);
  }

  @Test
  void missingTokenizerJsonNamesThePath(@TempDir Path empty) {
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> Tokenizer.load(empty));
    assertTrue(e.getMessage().contains(empty.resolve("tokenizer.json").toString()), e.getMessage());
  }

  @Test
  void malformedTokenizerJsonNamesTheFile(@TempDir Path bad) throws Exception {
    Files.writeString(bad.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", ");
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> Tokenizer.load(bad));
    assertTrue(e.getMessage().contains(bad.resolve("tokenizer.json").toString()), e.getMessage());
  }

  @Test
  void tokenizerJsonTheLibraryRejectsNamesTheFile(@TempDir Path bad) throws Exception {
    Files.writeString(bad.resolve("tokenizer.json"), "{\"model\": {\"type\": \"Nonsense\"}}");
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> Tokenizer.load(bad));
    assertTrue(e.getMessage().contains(bad.resolve("tokenizer.json").toString()), e.getMessage());
  }

  @Test
  void malformedTokenizerConfigNamesTheFile(@TempDir Path bad) throws Exception {
    TinyTokenizerWriter.write(bad, 512);
    Files.writeString(bad.resolve("tokenizer_config.json"), "{\"chat_template\": ");
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> Tokenizer.load(bad));
    assertTrue(e.getMessage().contains(bad.resolve("tokenizer_config.json").toString()),
        e.getMessage());
  }

  @Test
  void modelWithoutChatTemplateSaysSoNamingTheFile(@TempDir Path plain) throws Exception {
    TinyTokenizerWriter.write(plain, 512);
    Files.writeString(plain.resolve("tokenizer_config.json"),
        "{\"bos_token\": {\"content\": \"<|begin_of_text|>\"}, \"eos_token\": \"<|eot_id|>\"}");
    try (Tokenizer t = Tokenizer.load(plain)) {
      assertFalse(t.hasChatTemplate());
      assertEquals("<|begin_of_text|>", t.bosToken());
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> t.applyChatTemplate(List.of(new ChatMessage("user", "x")), true));
      assertTrue(e.getMessage().contains("tokenizer_config.json"), e.getMessage());
    }
  }

  @Test
  void namedChatTemplatesUseTheDefaultOne(@TempDir Path named) throws Exception {
    TinyTokenizerWriter.write(named, 512);
    Files.writeString(named.resolve("tokenizer_config.json"), "{\"chat_template\": ["
        + "{\"name\": \"tool_use\", \"template\": \"tools\"},"
        + "{\"name\": \"default\", \"template\": \"{{ messages[0].content }}!\"}]}");
    try (Tokenizer t = Tokenizer.load(named)) {
      assertEquals("x!", t.applyChatTemplate(List.of(new ChatMessage("user", "x")), true));
    }
  }

  @Test
  void chatTemplateJinjaFileIsUsedWhenTheConfigHasNone(@TempDir Path jinja) throws Exception {
    TinyTokenizerWriter.write(jinja, 512);
    Files.writeString(jinja.resolve("tokenizer_config.json"), "{}");
    Files.writeString(jinja.resolve("chat_template.jinja"), "[{{ messages[0].role }}]");
    try (Tokenizer t = Tokenizer.load(jinja)) {
      assertEquals("[user]", t.applyChatTemplate(List.of(new ChatMessage("user", "x")), true));
    }
  }

  @Test
  void encodeThenDecodeIsStableForIds() {
    int[] ids = tokenizer.encode("Größe 模型", false);
    assertArrayEquals(ids, tokenizer.encode(tokenizer.decode(ids), false));
  }
}
