package org.sparkllm.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sparkllm.TestModels;
import org.sparkllm.backend.Backend;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.KvCache;
import org.sparkllm.backend.cpu.CpuBackend;
import org.sparkllm.model.GenerationConfig;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.safetensors.ModelTensors;
import org.sparkllm.tokenizer.Tokenizer;

class EngineTest {
  static Path model;
  static Engine engine;

  @BeforeAll
  static void open() {
    model = TestModels.tiny();
    engine = Engine.open(model, EngineOptions.defaults().withMaxContextTokens(256));
  }

  @AfterAll
  static void close() {
    engine.close();
  }

  static GenerationResult run(GenerationRequest request) throws Exception {
    return engine.submit(request).get(1, TimeUnit.MINUTES);
  }

  @Test
  void greedyIsRepeatableAndStopsAtMaxTokens() throws Exception {
    GenerationRequest request = GenerationRequest.prompt("The river runs").withMaxTokens(12);
    GenerationResult first = run(request);
    GenerationResult second = run(request);
    assertEquals(FinishReason.LENGTH, first.finishReason());
    assertEquals(12, first.completionTokens());
    assertArrayEquals(first.completionTokenIds(), second.completionTokenIds());
    assertEquals(first.text(), second.text());
    assertFalse(first.text().isEmpty());
    assertTrue(first.promptTokens() > 1);
    assertTrue(first.timeToFirstTokenNanos() > 0 && first.timeToFirstTokenNanos() <= first.totalNanos());
  }

  @Test
  void seedsChangeSampledOutputAndFixedSeedsRepeat() throws Exception {
    GenerationRequest base = GenerationRequest.prompt("Once upon a time").withMaxTokens(24);
    GenerationResult a = run(base.withSampling(new SamplingParams(1.0, 0, 1, 0, 1)));
    GenerationResult a2 = run(base.withSampling(new SamplingParams(1.0, 0, 1, 0, 1)));
    GenerationResult b = run(base.withSampling(new SamplingParams(1.0, 0, 1, 0, 2)));
    assertArrayEquals(a.completionTokenIds(), a2.completionTokenIds());
    assertFalse(java.util.Arrays.equals(a.completionTokenIds(), b.completionTokenIds()));
  }

  @Test
  void stopStringEndsGenerationAndIsCutFromTheText() throws Exception {
    GenerationRequest request = GenerationRequest.prompt("abc abc abc").withMaxTokens(40);
    String free = run(request).text();
    assertTrue(free.length() > 4, free);
    String stop = free.substring(2, 4);
    GenerationResult stopped = run(request.withStop(List.of(stop)));
    assertEquals(FinishReason.STOP, stopped.finishReason());
    assertEquals(free.substring(0, free.indexOf(stop)), stopped.text());
  }

  @Test
  void endOfSequenceTokenStopsWithoutText() throws Exception {
    GenerationRequest request = GenerationRequest.prompt("Hello").withMaxTokens(10);
    GenerationResult free;
    try (Engine withoutEos = engineWithEos(-1)) {
      free = withoutEos.submit(request).get(1, TimeUnit.MINUTES);
    }
    int eos = free.completionTokenIds()[3];
    try (Engine withEos = engineWithEos(eos)) {
      GenerationResult stopped = withEos.submit(request).get(1, TimeUnit.MINUTES);
      assertEquals(FinishReason.STOP, stopped.finishReason());
      int firstEos = indexOf(free.completionTokenIds(), eos);
      assertEquals(firstEos + 1, stopped.completionTokens());
      assertEquals(eos, stopped.completionTokenIds()[firstEos]);
    }
  }

  @Test
  void contextLimitEndsLongGenerations() throws Exception {
    GenerationResult result = run(GenerationRequest.prompt("count").withMaxTokens(10_000));
    assertEquals(FinishReason.CONTEXT_LIMIT, result.finishReason());
    assertEquals(256, result.promptTokens() + result.completionTokens());
  }

  @Test
  void promptLongerThanTheContextFailsOnlyThatRequestNamingTheSizes() throws Exception {
    String longPrompt = "word ".repeat(400);
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> run(GenerationRequest.prompt(longPrompt)));
    InvalidRequestException cause = assertInstanceOf(InvalidRequestException.class, e.getCause());
    assertTrue(cause.getMessage().contains("context limit is 256"), cause.getMessage());
    assertEquals(FinishReason.LENGTH, run(GenerationRequest.prompt("still fine").withMaxTokens(2)).finishReason());
  }

  @Test
  void nullPromptIsRejectedAndEmptyPromptWorks() throws Exception {
    assertThrows(InvalidRequestException.class, () -> GenerationRequest.prompt(null));
    GenerationResult empty = run(GenerationRequest.prompt("").withMaxTokens(3));
    assertEquals(1, empty.promptTokens(), "the begin-of-text token alone");
    assertEquals(3, empty.completionTokens());
  }

  @Test
  void chatTemplateWrapsThePrompt() throws Exception {
    GenerationRequest plain = GenerationRequest.prompt("Hi").withMaxTokens(2);
    GenerationResult chat = run(plain.withChat("Be brief."));
    assertTrue(chat.promptTokens() > run(plain).promptTokens() + 5);
  }

  @Test
  void cancelledRequestIsDroppedAndOthersContinue() throws Exception {
    CompletableFuture<GenerationResult> longOne =
        engine.submit(GenerationRequest.prompt("long").withMaxTokens(200));
    longOne.cancel(true);
    GenerationResult next = run(GenerationRequest.prompt("next").withMaxTokens(3));
    assertEquals(3, next.completionTokens());
    assertTrue(longOne.isCancelled());
    Thread.sleep(50);
    assertEquals(0, engine.stats().running());
  }

  @Test
  void backendFailureFailsEveryRequestFastAndLaterOnesToo() throws Exception {
    try (Engine failing = engineWithBackend(new FailingBackend(cpuBackend()))) {
      CompletableFuture<GenerationResult> a = failing.submit(GenerationRequest.prompt("a"));
      ExecutionException e = assertThrows(ExecutionException.class, () -> a.get(1, TimeUnit.MINUTES));
      assertInstanceOf(EngineFailedException.class, e.getCause());
      assertTrue(e.getCause().getMessage().contains("device lost"), e.getCause().getMessage());
      CompletableFuture<GenerationResult> later = failing.submit(GenerationRequest.prompt("b"));
      assertThrows(ExecutionException.class, () -> later.get(1, TimeUnit.SECONDS));
    }
  }

  @Test
  void closedEngineRejectsRequests() throws Exception {
    Engine closed = engineWithEos(-1);
    closed.close();
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> closed.submit(GenerationRequest.prompt("x")).get());
    assertInstanceOf(EngineFailedException.class, e.getCause());
    assertNotEquals(0, engine.stats().requestsCompleted());
  }

  private static Engine engineWithEos(int eos) {
    return new Engine(
        cpuBackend(), Tokenizer.load(model), new GenerationConfig(new int[] {eos}, null, null, null),
        EngineOptions.defaults());
  }

  private static Engine engineWithBackend(Backend backend) {
    return new Engine(backend, Tokenizer.load(model), GenerationConfig.read(model), EngineOptions.defaults());
  }

  private static CpuBackend cpuBackend() {
    LlamaConfig config = LlamaConfig.read(model);
    LlamaConfig noEos =
        new LlamaConfig(config.hiddenSize(), config.numLayers(), config.numHeads(), config.numKvHeads(),
            config.headDim(), config.intermediateSize(), config.vocabSize(), config.maxPositionEmbeddings(),
            config.rmsNormEps(), config.ropeTheta(), config.ropeScaling(), config.tieWordEmbeddings(),
            config.bosTokenId(), new int[0]);
    try (ModelTensors tensors = ModelTensors.open(model)) {
      return CpuBackend.load(noEos, tensors, 8, 4096, 16, 2);
    }
  }

  private static int indexOf(int[] values, int value) {
    for (int i = 0; i < values.length; i++) {
      if (values[i] == value) {
        return i;
      }
    }
    return -1;
  }

  /** Fault injection: a backend whose device fails on the first step. */
  private record FailingBackend(Backend delegate) implements Backend {
    @Override
    public String name() {
      return "failing";
    }

    @Override
    public LlamaConfig config() {
      return delegate.config();
    }

    @Override
    public KvCache kvCache() {
      return delegate.kvCache();
    }

    @Override
    public float[][] forward(ForwardBatch batch) {
      throw new IllegalStateException("device lost");
    }

    @Override
    public void close() {
      delegate.close();
    }
  }
}
