package org.sparkllm.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.sparkllm.engine.SamplingParams;
import org.sparkllm.model.GenerationConfig;

class LlmOptionsTest {
  static final Map<String, String> CONF = Map.of("spark.llm.model", "/m", "spark.llm.max_tokens", "12");

  static LlmOptions resolve(Map<String, String> given) {
    return LlmOptions.resolve(given, CONF::get);
  }

  @Test
  void callOverridesConfWhichOverridesDefaults() {
    LlmOptions conf = resolve(Map.of());
    assertEquals("/m", conf.model());
    assertEquals(12, conf.maxTokens());
    assertEquals(ReturnMode.TEXT, conf.returnMode());
    assertTrue(conf.failOnError());
    assertEquals(64, conf.engine().maxInFlight());
    assertEquals(32, resolve(Map.of("MAX_TOKENS", "32.0")).maxTokens());
  }

  @Test
  void stopIsOneStringOrAJsonArray() {
    assertEquals(List.of("\n"), resolve(Map.of("stop", "\n")).stop());
    assertEquals(List.of("a", "b c"), resolve(Map.of("stop", "[\"a\", \"b c\"]")).stop());
    assertThrows(InvalidLlmOptionException.class, () -> resolve(Map.of("stop", "[1]")));
  }

  @Test
  void samplingFallsBackToTheModelOnlyForUnsetValues() {
    GenerationConfig model = new GenerationConfig(new int[0], 0.6, 0.9, 40);
    assertNull(resolve(Map.of()).sampling(model));
    assertEquals(new SamplingParams(0.6, 40, 0.9, 0, 5), resolve(Map.of("seed", "5")).sampling(model));
  }

  @Test
  void ignoreEosReachesTheRequest() {
    assertFalse(resolve(Map.of()).request("p", null).ignoreEos());
    assertTrue(resolve(Map.of("ignore_eos", "true")).request("p", null).ignoreEos());
  }

  @Test
  void systemPromptImpliesChat() {
    assertTrue(resolve(Map.of("system_prompt", "hi")).chat());
    assertThrows(
        InvalidLlmOptionException.class, () -> resolve(Map.of("system_prompt", "hi", "chat", "false")));
  }

  @Test
  void errorsNameTheOptionOrSetting() {
    assertTrue(
        assertThrows(InvalidLlmOptionException.class, () -> resolve(Map.of("chat", "yes")))
            .getMessage()
            .contains("option 'chat' = 'yes'"));
    assertTrue(
        assertThrows(
                InvalidLlmOptionException.class,
                () -> LlmOptions.resolve(Map.of(), Map.of("spark.llm.model", "/m", "spark.llm.maxInFlight", "0")::get))
            .getMessage()
            .contains("setting spark.llm.maxInFlight"));
    assertTrue(
        assertThrows(InvalidLlmOptionException.class, () -> LlmOptions.resolve(Map.of(), k -> null))
            .getMessage()
            .contains("spark.llm.model"));
    assertTrue(
        assertThrows(InvalidLlmOptionException.class, () -> resolve(Map.of("return", "json")))
            .getMessage()
            .contains("'text' or 'struct'"));
  }
}
