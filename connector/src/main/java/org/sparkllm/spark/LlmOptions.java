package org.sparkllm.spark;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.sparkllm.engine.GenerationRequest;
import org.sparkllm.engine.InvalidRequestException;
import org.sparkllm.engine.SamplingParams;
import org.sparkllm.model.GenerationConfig;

/**
 * The options of one llm_generate call, resolved and validated: the single place that knows their
 * names, types, defaults and {@code spark.llm.*} settings (the {@code llm} data source reuses it).
 * Each option comes from the call, else from the setting {@code spark.llm.<option>}, else from its
 * built-in default. Sampling options left unset fall back to the model's generation_config.json.
 *
 * @param given the options as the call spelled them, kept for EXPLAIN and column names
 */
public record LlmOptions(
    String model,
    int maxTokens,
    Double temperature,
    Integer topK,
    Double topP,
    Double minP,
    Long seed,
    List<String> stop,
    boolean ignoreEos,
    boolean chat,
    String systemPrompt,
    boolean failOnError,
    ReturnMode returnMode,
    Map<String, String> given,
    EngineSettings engine)
    implements Serializable {

  public static final String CONF_PREFIX = "spark.llm.";

  /** Per-call options and what they take; each also has a session default spark.llm.<name>. */
  public static final Map<String, String> OPTIONS = options();

  /** Settings that only come from spark.llm.* (they size the executor's engine). */
  public static final Map<String, String> ENGINE_SETTINGS = engineSettings();

  private static Map<String, String> options() {
    Map<String, String> o = new LinkedHashMap<>();
    o.put("model", "model directory: local path or Hadoop file system URI (required)");
    o.put("max_tokens", "most tokens to generate, integer >= 1 (default 256)");
    o.put("temperature", "number >= 0; 0 is greedy (default: the model's, else 0)");
    o.put("top_p", "number in (0, 1] (default: the model's, else 1)");
    o.put("top_k", "integer >= 0, 0 disables (default: the model's, else 0)");
    o.put("min_p", "number in [0, 1) (default 0)");
    o.put("seed", "integer seed of the sampler (default 0)");
    o.put("stop", "a stop string, or several as a JSON array string such as '[\"\\n\", \"END\"]'");
    o.put("ignore_eos", "true generates max_tokens tokens past end-of-sequence, for benchmarks (default false)");
    o.put("chat", "true to apply the model's chat template (default false)");
    o.put("system_prompt", "system message for chat; implies chat");
    o.put("fail_on_error", "true fails the task on a bad row, false returns a per-row error (default true)");
    o.put("return", "'text' (STRING) or 'struct' (text, finish_reason, prompt_tokens, completion_tokens, error)");
    return Collections.unmodifiableMap(o);
  }

  private static Map<String, String> engineSettings() {
    Map<String, String> s = new LinkedHashMap<>();
    s.put("backend", "auto, cpu, cuda or megakernel (default auto: on an assigned, usable GPU the megakernel if "
        + "it is a Hopper, else the CUDA backend; without one the CPU)");
    s.put("maxInFlight", "requests a task keeps in the engine at once (default 64)");
    s.put("batchRows", "input rows per Arrow prompt batch (default 256)");
    s.put("engine.maxSequences", "sequences the engine runs at once (default 64)");
    s.put("engine.kvCacheTokens", "KV-cache capacity in tokens (default 32768)");
    s.put("engine.maxBatchTokens", "tokens per engine step (default 512)");
    s.put("engine.maxContextTokens", "longest prompt plus completion, 0 = the model's (default 0)");
    s.put("engine.threads", "CPU backend threads, 0 = one per processor (default 0)");
    s.put("modelCacheDir", "local copy of models on Hadoop file systems (default java.io.tmpdir/spark-llm-models)");
    return Collections.unmodifiableMap(s);
  }

  /**
   * Resolves the options of one call.
   *
   * @param given option name to value, as written in the call (names are case-insensitive)
   * @param conf reads a Spark setting by its full key; null when unset
   * @throws InvalidLlmOptionException naming the bad option or setting
   */
  public static LlmOptions resolve(Map<String, String> given, Function<String, String> conf) {
    Map<String, String> normalized = new TreeMap<>();
    given.forEach((k, v) -> normalized.put(k.toLowerCase(Locale.ROOT), v));
    for (String name : normalized.keySet()) {
      if (!OPTIONS.containsKey(name)) {
        throw new InvalidLlmOptionException(
            "unknown option '" + name + "'; valid options: " + String.join(", ", OPTIONS.keySet()));
      }
    }
    Values v = new Values(normalized, conf);
    String model = v.string("model", null);
    if (model == null || model.isBlank()) {
      throw new InvalidLlmOptionException(
          "no model given: pass the option 'model' or set " + CONF_PREFIX + "model");
    }
    String systemPrompt = v.string("system_prompt", null);
    Boolean chat = v.bool("chat", null);
    if (Boolean.FALSE.equals(chat) && systemPrompt != null) {
      throw new InvalidLlmOptionException("system_prompt is set but chat is false; drop one of them");
    }
    LlmOptions options =
        new LlmOptions(
            model,
            v.integer("max_tokens", GenerationRequest.DEFAULT_MAX_TOKENS, 1),
            v.number("temperature"),
            v.optionalInteger("top_k"),
            v.number("top_p"),
            v.number("min_p"),
            v.optionalLong("seed"),
            v.stops(),
            v.bool("ignore_eos", false),
            chat != null ? chat : systemPrompt != null,
            systemPrompt,
            v.bool("fail_on_error", true),
            v.returnMode(),
            Collections.unmodifiableMap(new TreeMap<>(normalized)),
            v.engineSettings());
    options.checkSampling();
    return options;
  }

  /** The sampler for this call: null (the model's defaults) unless a sampling option is set. */
  public SamplingParams sampling(GenerationConfig modelDefaults) {
    if (temperature == null && topK == null && topP == null && minP == null && seed == null) {
      return null;
    }
    return new SamplingParams(
        temperature != null ? temperature : orElse(modelDefaults.temperature(), 0.0),
        topK != null ? topK : orElse(modelDefaults.topK(), 0),
        topP != null ? topP : orElse(modelDefaults.topP(), 1.0),
        minP != null ? minP : 0,
        seed != null ? seed : 0);
  }

  public GenerationRequest request(String prompt, SamplingParams sampling) {
    GenerationRequest request =
        GenerationRequest.prompt(prompt).withMaxTokens(maxTokens).withStop(stop).withIgnoreEos(ignoreEos);
    if (chat) {
      request = request.withChat(systemPrompt);
    }
    return sampling != null ? request.withSampling(sampling) : request;
  }

  /** Range errors surface at analysis time, with the engine's own message naming the option. */
  private void checkSampling() {
    try {
      sampling(new GenerationConfig(new int[0], null, null, null));
    } catch (InvalidRequestException e) {
      throw new InvalidLlmOptionException(e.getMessage());
    }
  }

  private static <T> T orElse(T value, T fallback) {
    return value != null ? value : fallback;
  }

  /** Looks each name up in the call, then in spark.llm.*, and parses it with an error naming it. */
  private static final class Values {
    private final Map<String, String> given;
    private final Function<String, String> conf;

    Values(Map<String, String> given, Function<String, String> conf) {
      this.given = given;
      this.conf = conf;
    }

    /** The raw value and where it came from, or null when neither the call nor the conf sets it. */
    private String[] lookup(String name) {
      if (given.containsKey(name)) {
        return new String[] {given.get(name), "option '" + name + "'"};
      }
      String fromConf = conf.apply(CONF_PREFIX + name);
      return fromConf != null ? new String[] {fromConf, "setting " + CONF_PREFIX + name} : null;
    }

    String string(String name, String fallback) {
      String[] found = lookup(name);
      return found != null ? found[0] : fallback;
    }

    Boolean bool(String name, Boolean fallback) {
      String[] found = lookup(name);
      if (found == null) {
        return fallback;
      }
      String value = found[0].trim().toLowerCase(Locale.ROOT);
      if (!value.equals("true") && !value.equals("false")) {
        throw invalid(found, "true or false");
      }
      return Boolean.parseBoolean(value);
    }

    int integer(String name, int fallback, int min) {
      Long value = optionalLong(name);
      if (value == null) {
        return fallback;
      }
      if (value < min || value > Integer.MAX_VALUE) {
        throw invalid(lookup(name), "an integer >= " + min);
      }
      return value.intValue();
    }

    Integer optionalInteger(String name) {
      Long value = optionalLong(name);
      if (value != null && (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE)) {
        throw invalid(lookup(name), "a 32-bit integer");
      }
      return value == null ? null : value.intValue();
    }

    Long optionalLong(String name) {
      String[] found = lookup(name);
      if (found == null) {
        return null;
      }
      try {
        // Numbers may arrive as decimals ("32.0") when a map or struct literal widened them.
        java.math.BigDecimal number = new java.math.BigDecimal(found[0].trim());
        return number.longValueExact();
      } catch (NumberFormatException | ArithmeticException e) {
        throw invalid(found, "an integer");
      }
    }

    Double number(String name) {
      String[] found = lookup(name);
      if (found == null) {
        return null;
      }
      try {
        double value = Double.parseDouble(found[0].trim());
        if (!Double.isFinite(value)) {
          throw invalid(found, "a finite number");
        }
        return value;
      } catch (NumberFormatException e) {
        throw invalid(found, "a number");
      }
    }

    List<String> stops() {
      String[] found = lookup("stop");
      if (found == null) {
        return List.of();
      }
      List<String> stops = new ArrayList<>();
      if (found[0].trim().startsWith("[")) {
        try {
          for (Object s : new ObjectMapper().readValue(found[0], List.class)) {
            if (!(s instanceof String)) {
              throw invalid(found, "a JSON array of strings");
            }
            stops.add((String) s);
          }
        } catch (JsonProcessingException e) {
          throw invalid(found, "a string or a JSON array of strings");
        }
      } else {
        stops.add(found[0]);
      }
      if (stops.stream().anyMatch(String::isEmpty)) {
        throw invalid(found, "non-empty stop strings");
      }
      return List.copyOf(stops);
    }

    ReturnMode returnMode() {
      String[] found = lookup("return");
      if (found == null) {
        return ReturnMode.TEXT;
      }
      for (ReturnMode mode : ReturnMode.values()) {
        if (mode.label().equalsIgnoreCase(found[0].trim())) {
          return mode;
        }
      }
      throw invalid(found, "'text' or 'struct'");
    }

    EngineSettings engineSettings() {
      String backend = string("backend", "auto").trim().toLowerCase(Locale.ROOT);
      if (!java.util.Set.of("auto", "cpu", "cuda", "megakernel").contains(backend)) {
        throw invalid(lookup("backend"), "auto, cpu, cuda or megakernel");
      }
      return new EngineSettings(
          backend,
          integer("maxInFlight", 64, 1),
          integer("batchRows", 256, 1),
          integer("engine.maxSequences", 64, 1),
          integer("engine.kvCacheTokens", 32768, 16),
          integer("engine.maxBatchTokens", 512, 1),
          integer("engine.maxContextTokens", 0, 0),
          integer("engine.threads", 0, 0),
          string("modelCacheDir", EngineSettings.DEFAULT_MODEL_CACHE_DIR));
    }

    private static InvalidLlmOptionException invalid(String[] found, String expected) {
      return new InvalidLlmOptionException(
          found[1] + " = '" + found[0] + "' is invalid: it must be " + expected);
    }
  }
}
