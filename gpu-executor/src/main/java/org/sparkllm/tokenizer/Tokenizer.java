package org.sparkllm.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.sparkllm.model.ModelLoadException;

/**
 * A model's tokenizer: tokenizer.json run by Hugging Face's tokenizers library (through DJL), plus
 * the chat template and bos/eos tokens of tokenizer_config.json. Thread-safe; close it when the
 * model is unloaded, as it holds native memory.
 */
public final class Tokenizer implements AutoCloseable {
  private static final String TOKENIZER_JSON = "tokenizer.json";

  private final HuggingFaceTokenizer hfTokenizer;
  private final TokenizerVocabulary vocabulary;
  private final TokenizerConfigFile config;
  private final ChatTemplate chatTemplate;

  private Tokenizer(HuggingFaceTokenizer tokenizer, TokenizerVocabulary vocabulary,
      TokenizerConfigFile config) {
    this.hfTokenizer = tokenizer;
    this.vocabulary = vocabulary;
    this.config = config;
    this.chatTemplate = config.chatTemplate() == null ? null
        : new ChatTemplate(config.chatTemplate(), config.templateFile());
  }

  /** Loads tokenizer.json (required) and tokenizer_config.json (optional) from modelDir. */
  public static Tokenizer load(Path modelDir) {
    ModelJsonFile tokenizerJson = ModelJsonFile.read(modelDir.resolve(TOKENIZER_JSON));
    TokenizerVocabulary vocabulary = TokenizerVocabulary.of(tokenizerJson);
    TokenizerConfigFile config = TokenizerConfigFile.read(modelDir);
    return new Tokenizer(newNativeTokenizer(tokenizerJson), vocabulary, config);
  }

  private static HuggingFaceTokenizer newNativeTokenizer(ModelJsonFile tokenizerJson) {
    DjlNativeSettings.apply();
    // DJL's defaults would cut every input to 512 tokens; prompts are limited by the engine instead.
    Map<String, String> options = Map.of("truncation", "false", "padding", "false");
    byte[] json = tokenizerJson.text().getBytes(StandardCharsets.UTF_8);
    try {
      return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), options);
    } catch (IOException | RuntimeException e) {
      throw new ModelLoadException("the tokenizers library rejected " + tokenizerJson.path() + ": "
          + e.getMessage(), e);
    }
  }

  /** All ids of text, never truncated; addSpecialTokens runs the post-processor (adds bos). */
  public int[] encode(String text, boolean addSpecialTokens) {
    return toInts(hfTokenizer.encode(text, addSpecialTokens, false).getIds());
  }

  /** The text of ids, special tokens left out, bytes that are not valid UTF-8 shown as U+FFFD. */
  public String decode(int[] ids) {
    return decode(toLongs(ids, 0, ids.length));
  }

  String decode(long[] ids) {
    return hfTokenizer.decode(ids, true);
  }

  /** A detokenizer for one generated sequence. */
  public StreamingDetokenizer newStreamingDetokenizer() {
    return new StreamingDetokenizer(this);
  }

  /** Number of ids, added tokens included. */
  public int vocabSize() {
    return vocabulary.size();
  }

  /** bos_token of tokenizer_config.json, or null. */
  public String bosToken() {
    return config.bosToken();
  }

  /** eos_token of tokenizer_config.json, or null. */
  public String eosToken() {
    return config.eosToken();
  }

  public OptionalInt bosId() {
    return vocabulary.idOf(config.bosToken());
  }

  public OptionalInt eosId() {
    return vocabulary.idOf(config.eosToken());
  }

  /** The id of a token given as written in tokenizer.json (e.g. "<|eot_id|>"). */
  public OptionalInt tokenId(String token) {
    return vocabulary.idOf(token);
  }

  public boolean hasChatTemplate() {
    return chatTemplate != null;
  }

  /**
   * The prompt for a conversation. Templates write bos_token themselves, so encode the result with
   * addSpecialTokens false, or the prompt starts with two bos tokens.
   *
   * @throws IllegalStateException when the model has no chat template
   * @throws IllegalArgumentException when the template rejects the conversation (raise_exception)
   */
  public String applyChatTemplate(List<ChatMessage> messages, boolean addGenerationPrompt) {
    if (chatTemplate == null) {
      throw new IllegalStateException("this model has no chat template: " + config.templateFile()
          + " has no (default) chat_template and there is no "
          + TokenizerConfigFile.JINJA_FILE_NAME);
    }
    return chatTemplate.render(messages, addGenerationPrompt, config.bosToken(),
        config.eosToken());
  }

  @Override
  public void close() {
    hfTokenizer.close();
  }

  private static int[] toInts(long[] ids) {
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }

  static long[] toLongs(int[] ids, int from, int to) {
    long[] out = new long[to - from];
    for (int i = from; i < to; i++) {
      out[i - from] = ids[i];
    }
    return out;
  }
}
