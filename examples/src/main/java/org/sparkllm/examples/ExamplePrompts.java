package org.sparkllm.examples;

import java.util.List;

/** The prompts GenerateJob completes: a few languages and tasks, so tokenization is exercised too. */
final class ExamplePrompts {
  /** A language tag and its prompt. */
  record Prompt(String lang, String text) {}

  static final List<Prompt> ALL =
      List.of(
          new Prompt("en", "The quick brown fox"),
          new Prompt("en", "Write a haiku about Spark executors."),
          new Prompt("en", "Explain batch inference in one sentence:"),
          new Prompt("en", "def fibonacci(n):"),
          new Prompt("de", "Übersetze ins Englische: Guten Morgen"),
          new Prompt("de", "Nenne drei Flüsse in Deutschland:"),
          new Prompt("fr", "Liste trois fleuves d'Europe :"),
          new Prompt("fr", "Quelle est la capitale du Canada ?"),
          new Prompt("es", "Escribe un refrán sobre la paciencia."),
          new Prompt("it", "Completa la frase: la pizza migliore è"),
          new Prompt("pt", "O que é um modelo de linguagem?"),
          new Prompt("zh", "用一句话介绍大型语言模型。"),
          new Prompt("ja", "春の俳句を一つ作ってください。"),
          new Prompt("ko", "스파크 클러스터란 무엇인가요?"),
          new Prompt("ru", "Продолжи: жили-были"),
          new Prompt("emoji", "🌊 The sea is"));

  private ExamplePrompts() {}
}
