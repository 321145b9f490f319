package org.sparkllm.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.sparkllm.model.ModelLoadException;

/**
 * A model's Jinja chat template, rendered with jinjava set up to produce the same bytes as Python
 * jinja2 under transformers (DESIGN §3): trim_blocks and lstrip_blocks as transformers sets them, and
 * the legacy overrides that make whitespace control and loops behave like jinja2. Natural operator
 * precedence stays off on purpose: with it, {@code 'a' + x | trim} is parsed differently from the
 * way the Llama 3 templates were rendered when the models were trained.
 *
 * <p>{@code strftime_now} is not defined, so templates that print a date fall back to their fixed
 * default and the prompt does not depend on the day it is rendered.
 */
final class ChatTemplate {
  private final String source;
  private final Path file;
  private Jinjava jinjava;

  ChatTemplate(String source, Path file) {
    this.source = source;
    this.file = file;
  }

  /**
   * The renderer, made on first use: the template is only parsed when rendered anyway, and a model used
   * without chat never loads jinjava (whose expression engine needs the java.desktop module).
   */
  private synchronized Jinjava jinjava() {
    if (jinjava == null) {
      jinjava = newJinjava();
    }
    return jinjava;
  }

  private static Jinjava newJinjava() {
    LegacyOverrides overrides = LegacyOverrides.newBuilder()
        .withUseTrimmingForNotesAndExpressions(true)
        .withParseWhitespaceControlStrictly(true)
        .withKeepNullableLoopValues(true)
        .build();
    JinjavaConfig config = JinjavaConfig.newBuilder()
        .withTrimBlocks(true)
        .withLstripBlocks(true)
        .withLegacyOverrides(overrides)
        .build();
    Jinjava jinjava = new Jinjava(config);
    jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
        ChatTemplateFunctions.class, "raiseException", String.class));
    jinjava.getGlobalContext().registerFilter(new ToJsonFilter());
    return jinjava;
  }

  /**
   * Renders the conversation. Throws IllegalArgumentException when the template rejects it with
   * raise_exception, and ModelLoadException when the template itself is broken; both name the file.
   */
  String render(List<ChatMessage> messages, boolean addGenerationPrompt, String bosToken,
      String eosToken) {
    Map<String, Object> variables = new HashMap<>();
    variables.put("messages", asTemplateMessages(messages));
    variables.put("add_generation_prompt", addGenerationPrompt);
    variables.put("bos_token", bosToken == null ? "" : bosToken);
    variables.put("eos_token", eosToken == null ? "" : eosToken);
    RenderResult result = jinjava().renderForResult(source, variables);
    for (TemplateError error : result.getErrors()) {
      if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
        throw failure(error);
      }
    }
    return result.getOutput();
  }

  private static List<Map<String, Object>> asTemplateMessages(List<ChatMessage> messages) {
    List<Map<String, Object>> out = new ArrayList<>(messages.size());
    for (ChatMessage message : messages) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("role", message.role());
      m.put("content", message.content());
      out.add(m);
    }
    return out;
  }

  private RuntimeException failure(TemplateError error) {
    Throwable cause = error.getException();
    while (cause != null && !(cause instanceof ChatTemplateFunctions.ChatTemplateRaisedException)) {
      cause = cause.getCause();
    }
    if (cause != null) {
      return new IllegalArgumentException("the chat template in " + file
          + " rejected the conversation: " + cause.getMessage(), cause);
    }
    return new ModelLoadException("the chat template in " + file + " cannot be rendered (line "
        + error.getLineno() + "): " + error.getMessage(), error.getException());
  }
}
