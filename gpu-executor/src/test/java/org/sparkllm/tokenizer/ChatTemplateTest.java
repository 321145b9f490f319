package org.sparkllm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.sparkllm.model.ModelLoadException;

/** Expected strings were produced by Python jinja2 3.1 set up as transformers sets it up. */
class ChatTemplateTest {
  private static final Path FILE = Path.of("/models/m/tokenizer_config.json");
  private static final List<ChatMessage> CONVERSATION = List.of(
      new ChatMessage("system", "  Be brief. "), new ChatMessage("user", "Hi there\n"));

  private static String render(String template) {
    return new ChatTemplate(template, FILE).render(CONVERSATION, true, "<s>", "</s>");
  }

  @Test
  void whitespaceControlMatchesJinja2WithTrimAndLstripBlocks() {
    String template = "{% for m in messages %}\n  {{- m.role }}: {{ m.content | trim }}\n"
        + "  {# note #}\n{% endfor %}\n{%- if add_generation_prompt %}\n    {{- 'assistant:' }}\n"
        + "{% endif %}";
    assertEquals("system: Be brief.\nuser: Hi there\nassistant:\n", render(template));
  }

  @Test
  void filtersBindTighterThanConcatenationAsInJinja2() {
    assertEquals("axb|Be brief.!",
        render("{{ 'a' + ' x ' | trim + 'b' }}|{{ messages[0]['content'] | trim + '!' }}"));
  }

  @Test
  void loopVariablesWork() {
    assertEquals("01L",
        render("{% for m in messages %}{{ loop.index0 }}{% if loop.last %}L{% endif %}{% endfor %}"));
  }

  @Test
  void tojsonWritesPythonJsonWithAndWithoutIndent() {
    String template = "{{ {'name': 'f', 'args': [1, 2.5, true, none, 'é\"\\n', 1e-05, {}, []]}"
        + " | tojson(indent=2) }}\n{{ {'b': 1, 'a': [1, 2]} | tojson }}";
    String expected = "{\n  \"name\": \"f\",\n  \"args\": [\n    1,\n    2.5,\n    true,\n"
        + "    null,\n    \"é\\\"\\n\",\n    1e-05,\n    {},\n    []\n  ]\n}\n"
        + "{\"b\": 1, \"a\": [1, 2]}";
    assertEquals(expected, render(template));
  }

  @Test
  void strftimeNowIsNotDefinedSoDatesStayFixed() {
    assertEquals("26 Jul 2024",
        render("{% if strftime_now is defined %}x{% else %}26 Jul 2024{% endif %}"));
  }

  @Test
  void specialTokensAndGenerationFlagAreVariables() {
    assertEquals("<s>|</s>|true",
        render("{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt | lower }}"));
  }

  @Test
  void raiseExceptionRejectsTheConversationWithTheTemplatesMessage() {
    String template = "{% if messages[0].role != 'user' %}"
        + "{{ raise_exception('Conversation must start with the user') }}{% endif %}ok";
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> render(template));
    assertTrue(e.getMessage().contains("Conversation must start with the user"), e.getMessage());
    assertTrue(e.getMessage().contains(FILE.toString()), e.getMessage());
  }

  @Test
  void brokenTemplateNamesTheFile() {
    ModelLoadException e = assertThrows(ModelLoadException.class,
        () -> render("{% for m in messages %}{{ m.role }}"));
    assertTrue(e.getMessage().contains(FILE.toString()), e.getMessage());
  }
}
