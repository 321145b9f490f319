package org.sparkllm.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.OptionalInt;
import org.sparkllm.model.ModelLoadException;

/**
 * Facts about a tokenizer.json's vocabulary that DJL does not expose: its size (with added tokens,
 * like transformers' {@code len(tokenizer)}) and the ids of its added tokens, which is where special
 * tokens such as bos/eos live.
 */
final class TokenizerVocabulary {
  private final int size;
  private final Map<String, Integer> addedTokenIds;
  private final JsonNode modelVocab;

  private TokenizerVocabulary(int size, Map<String, Integer> addedTokenIds, JsonNode modelVocab) {
    this.size = size;
    this.addedTokenIds = addedTokenIds;
    this.modelVocab = modelVocab;
  }

  static TokenizerVocabulary of(ModelJsonFile tokenizerJson) {
    JsonNode model = tokenizerJson.root().get("model");
    if (model == null || !model.isObject()) {
      throw new ModelLoadException(tokenizerJson.path() + " has no \"model\" object");
    }
    JsonNode vocab = model.path("vocab");
    int maxId = -1;
    if (vocab.isObject()) {
      for (Iterator<JsonNode> ids = vocab.elements(); ids.hasNext(); ) {
        maxId = Math.max(maxId, ids.next().asInt(-1));
      }
    } else if (vocab.isArray()) { // Unigram: a list of [piece, score], ids are positions
      maxId = vocab.size() - 1;
    }
    Map<String, Integer> added = new HashMap<>();
    for (JsonNode token : tokenizerJson.root().path("added_tokens")) {
      int id = token.path("id").asInt(-1);
      String content = token.path("content").asText(null);
      if (id < 0 || content == null) {
        throw new ModelLoadException(tokenizerJson.path()
            + ": every added_tokens entry needs an \"id\" >= 0 and a \"content\"");
      }
      added.put(content, id);
      maxId = Math.max(maxId, id);
    }
    return new TokenizerVocabulary(maxId + 1, added, vocab.isObject() ? vocab : null);
  }

  int size() {
    return size;
  }

  /** The id of an added token, else of a token of the model's vocabulary (text as stored there). */
  OptionalInt idOf(String token) {
    if (token == null) {
      return OptionalInt.empty();
    }
    Integer added = addedTokenIds.get(token);
    if (added != null) {
      return OptionalInt.of(added);
    }
    if (modelVocab != null && modelVocab.has(token)) {
      return OptionalInt.of(modelVocab.get(token).asInt());
    }
    return OptionalInt.empty();
  }
}
