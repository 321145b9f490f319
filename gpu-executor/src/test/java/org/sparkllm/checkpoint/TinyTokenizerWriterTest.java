package org.sparkllm.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkllm.tokenizer.Tokenizer;

class TinyTokenizerWriterTest {

  @Test
  void sameVocabSizeWritesIdenticalBytes(@TempDir Path a, @TempDir Path b) throws Exception {
    TinyTokenizerWriter.write(a, 512);
    TinyTokenizerWriter.write(b, 512);
    for (String file : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
      assertArrayEquals(Files.readAllBytes(a.resolve(file)), Files.readAllBytes(b.resolve(file)),
          file);
    }
  }

  @Test
  void vocab512HasBytesThen248MergesThen8Specials(@TempDir Path dir) throws Exception {
    TinyTokenizerWriter.SpecialTokens ids = TinyTokenizerWriter.write(dir, 512);
    assertEquals(new TinyTokenizerWriter.SpecialTokens(504, 505, 508), ids);
    JsonNode root = new ObjectMapper().readTree(dir.resolve("tokenizer.json").toFile());
    JsonNode model = root.get("model");
    assertEquals(504, model.get("vocab").size());
    assertEquals(248, model.get("merges").size());
    assertEquals(33, model.get("vocab").get("!").asInt());
    assertEquals(32, model.get("vocab").get("\u0120").asInt(), "the space byte's symbol");
    assertEquals("<|reserved_special_token_2|>",
        root.get("added_tokens").get(7).get("content").asText());
    try (Tokenizer tokenizer = Tokenizer.load(dir)) {
      assertEquals(512, tokenizer.vocabSize());
      assertEquals(508, tokenizer.tokenId("<|eot_id|>").getAsInt());
      assertEquals(504, tokenizer.bosId().getAsInt());
      assertEquals(508, tokenizer.eosId().getAsInt());
    }
  }

  @Test
  void llama3SizedVocabLoadsQuicklyAndNeverEncodesToFiller(@TempDir Path dir) throws Exception {
    long start = System.nanoTime();
    TinyTokenizerWriter.SpecialTokens ids = TinyTokenizerWriter.write(dir, 128256);
    long writeMillis = (System.nanoTime() - start) / 1_000_000;
    assertTrue(writeMillis < 5000, "writing took " + writeMillis + " ms");
    assertEquals(new TinyTokenizerWriter.SpecialTokens(128000, 128001, 128004), ids);
    JsonNode model = new ObjectMapper().readTree(dir.resolve("tokenizer.json").toFile()).get("model");
    int learned = 256 + model.get("merges").size();
    assertTrue(learned > 512, "the corpus yields only " + learned + " tokens");
    assertEquals(128000, model.get("vocab").size());
    try (Tokenizer tokenizer = Tokenizer.load(dir)) {
      assertEquals(128256, tokenizer.vocabSize());
      String text = "Spark runs the same task on many executors 🚀 Größe 模型 12345";
      int[] encoded = tokenizer.encode(text, true);
      assertEquals(128000, encoded[0]);
      for (int i = 1; i < encoded.length; i++) {
        assertTrue(encoded[i] < learned, "id " + encoded[i] + " is filler");
      }
      assertEquals(text, tokenizer.decode(encoded));
    }
  }
}
