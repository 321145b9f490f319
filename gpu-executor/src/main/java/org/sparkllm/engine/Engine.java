package org.sparkllm.engine;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.IntStream;
import org.sparkllm.backend.Backend;
import org.sparkllm.backend.ForwardBatch;
import org.sparkllm.backend.Sampling;
import org.sparkllm.backend.cpu.CpuBackend;
import org.sparkllm.backend.cuda.CudaBackend;
import org.sparkllm.backend.cuda.CudaBackendOptions;
import org.sparkllm.backend.megakernel.MegakernelBackend;
import org.sparkllm.backend.megakernel.MegakernelOptions;
import org.sparkllm.model.GenerationConfig;
import org.sparkllm.model.LlamaConfig;
import org.sparkllm.safetensors.ModelTensors;
import org.sparkllm.tokenizer.ChatMessage;
import org.sparkllm.tokenizer.Tokenizer;

/**
 * A long-lived, thread-safe inference engine for one model on one backend. Any thread may
 * {@link #submit} requests; one engine thread runs the step loop (schedule, forward, sample), so
 * requests from many submitters share every batch, and nothing else touches the backend.
 *
 * <p>Cancel a request by cancelling its future: the engine drops it at the next step and frees its KV
 * capacity. If the backend fails, every request in flight and every later one fails at once with an
 * {@link EngineFailedException} instead of hanging.
 */
public final class Engine implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Engine.class.getName());

  /** Share of the free device memory (after weights and activations) the CUDA KV cache takes. */
  private static final double KV_MEMORY_FRACTION = 0.9;
  /** Below this many tokens in a step, appending them on the engine thread is cheaper than handing them out. */
  private static final int PARALLEL_APPEND_MIN = 32;

  private final Backend backend;
  private final Tokenizer tokenizer;
  private final SamplingParams defaultSampling;
  private final int[] eosTokenIds;
  private final int maxContextTokens;
  private final Scheduler scheduler;
  private final LinkedBlockingQueue<Sequence> submissions = new LinkedBlockingQueue<>();
  private final Thread loop;
  /**
   * Appending a token detokenizes it (two native tokenizer calls, ~10 µs), so at a few hundred sequences
   * per step the appends cost milliseconds, as much as a GPU step. The appends of one step are
   * independent (each touches only its own sequence), so they run on these threads; finishing a
   * sequence (scheduler, futures) stays on the engine thread.
   */
  private final ForkJoinPool appendWorkers =
      new ForkJoinPool(Math.min(8, Runtime.getRuntime().availableProcessors()));
  private final StatsCounters stats = new StatsCounters();
  private volatile boolean closed;
  private volatile Throwable failure;

  public Engine(
      Backend backend, Tokenizer tokenizer, GenerationConfig generation, EngineOptions options) {
    this.backend = backend;
    this.tokenizer = tokenizer;
    LlamaConfig config = backend.config();
    this.defaultSampling = defaultSampling(generation);
    this.eosTokenIds =
        Arrays.stream(concat(config.eosTokenIds(), generation.eosTokenIds())).distinct().toArray();
    int kvCapacity = backend.kvCache().totalPages() * backend.kvCache().pageTokens();
    int requested =
        options.maxContextTokens() > 0 ? options.maxContextTokens() : config.maxPositionEmbeddings();
    this.maxContextTokens = Math.min(Math.min(requested, config.maxPositionEmbeddings()), kvCapacity);
    this.scheduler = new Scheduler(backend.kvCache(), options.maxBatchTokens());
    this.loop = new Thread(this::runLoop, "spark-llm-engine-" + backend.name());
    loop.setDaemon(true);
    loop.start();
  }

  /** Loads a Hugging Face model directory onto the CPU backend. */
  public static Engine open(Path modelDir, EngineOptions options) {
    return open(modelDir, options, "cpu");
  }

  /**
   * Loads a Hugging Face model directory onto {@code device}: "cpu", "cuda:N" for the CUDA backend
   * on device N, or "megakernel:N" for decode steps in the persistent megakernel
   * over that CUDA backend (weights in bf16, the vAttention KV cache sized from the free device memory).
   */
  public static Engine open(Path modelDir, EngineOptions options, String device) {
    return open(modelDir, options, device, MegakernelOptions.defaults());
  }

  /** As {@link #open(Path, EngineOptions, String)}, with the megakernel's options for "megakernel:N". */
  public static Engine open(Path modelDir, EngineOptions options, String device, MegakernelOptions megakernel) {
    LlamaConfig config = LlamaConfig.read(modelDir);
    GenerationConfig generation = GenerationConfig.read(modelDir);
    Tokenizer tokenizer = Tokenizer.load(modelDir);
    Backend backend;
    try (ModelTensors tensors = ModelTensors.open(modelDir)) {
      if (device.equals("cpu")) {
        backend =
            CpuBackend.load(
                config,
                tensors,
                options.maxSequences(),
                options.kvCacheTokens(),
                options.pageTokens(),
                options.threads());
      } else if (device.startsWith("cuda:")) {
        backend = CudaBackend.load(config, tensors, cudaOptions(config, options, ordinal(device, "cuda:")));
      } else if (device.startsWith("megakernel:")) {
        backend = MegakernelBackend.load(config, tensors, cudaOptions(config, options, ordinal(device, "megakernel:")),
            megakernel);
      } else {
        throw new IllegalArgumentException(
            "device \"" + device + "\" is unknown: use \"cpu\", \"cuda:N\" or \"megakernel:N\"");
      }
    }
    return new Engine(backend, tokenizer, generation, options);
  }

  private static int ordinal(String device, String prefix) {
    try {
      return Integer.parseInt(device.substring(prefix.length()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "device \"" + device + "\" is malformed: use \"" + prefix + "N\" with N the device ordinal", e);
    }
  }

  private static CudaBackendOptions cudaOptions(LlamaConfig config, EngineOptions options, int device) {
    int context = options.maxContextTokens() > 0
        ? Math.min(options.maxContextTokens(), config.maxPositionEmbeddings())
        : config.maxPositionEmbeddings();
    return new CudaBackendOptions(
        device, options.maxSequences(), options.maxBatchTokens(), context, KV_MEMORY_FRACTION, true);
  }

  public Tokenizer tokenizer() {
    return tokenizer;
  }

  public Backend backend() {
    return backend;
  }

  /** The longest prompt plus completion a request may reach. */
  public int maxContextTokens() {
    return maxContextTokens;
  }

  /**
   * Queues a request. Invalid requests (null or too long prompt, bad token ids) fail the returned
   * future with an {@link InvalidRequestException}; tokenization runs on the calling thread.
   */
  public CompletableFuture<GenerationResult> submit(GenerationRequest request) {
    CompletableFuture<GenerationResult> future = new CompletableFuture<>();
    if (failure != null || closed) {
      future.completeExceptionally(stoppedException());
      return future;
    }
    try {
      int[] prompt = promptTokens(request);
      SamplingParams sampling = request.sampling() != null ? request.sampling() : defaultSampling;
      submissions.add(
          new Sequence(request, sampling, prompt, tokenizer.newStreamingDetokenizer(), future));
    } catch (InvalidRequestException e) {
      stats.requestsRejected.incrementAndGet();
      future.completeExceptionally(e);
      return future;
    }
    if (failure != null || closed) {
      future.completeExceptionally(stoppedException()); // the loop may have exited before the add
    }
    return future;
  }

  public EngineStats stats() {
    return stats.snapshot();
  }

  private int[] promptTokens(GenerationRequest request) {
    int[] tokens;
    if (request.promptTokens() != null) {
      tokens = request.promptTokens();
      int vocab = backend.config().vocabSize();
      for (int id : tokens) {
        if (id < 0 || id >= vocab) {
          throw new InvalidRequestException(
              "prompt token id " + id + " is outside the vocabulary [0, " + vocab + ")");
        }
      }
    } else if (request.chat()) {
      List<ChatMessage> messages = new ArrayList<>();
      if (request.systemPrompt() != null) {
        messages.add(new ChatMessage("system", request.systemPrompt()));
      }
      messages.add(new ChatMessage("user", request.prompt()));
      // The rendered template spells out its special tokens, so none are added again.
      tokens = tokenizer.encode(tokenizer.applyChatTemplate(messages, true), false);
    } else {
      tokens = tokenizer.encode(request.prompt(), true);
    }
    if (tokens.length == 0) {
      throw new InvalidRequestException(
          "the prompt is empty and this model's tokenizer adds no begin-of-sequence token; "
              + "give a non-empty prompt");
    }
    if (tokens.length >= maxContextTokens) {
      throw new InvalidRequestException(
          "the prompt has "
              + tokens.length
              + " tokens but the context limit is "
              + maxContextTokens
              + " tokens (prompt plus at least one generated token); shorten the prompt or raise "
              + "the context limit (engine maxContextTokens / KV-cache capacity)");
    }
    return tokens;
  }

  private void runLoop() {
    try {
      backend.bindToCurrentThread();
      while (!closed) {
        if (scheduler.isIdle()) {
          Sequence next = submissions.poll(50, TimeUnit.MILLISECONDS);
          if (next != null) {
            scheduler.add(next);
          }
        }
        List<Sequence> arrived = new ArrayList<>();
        submissions.drainTo(arrived);
        arrived.forEach(scheduler::add);
        for (Sequence s : scheduler.all()) {
          if (s.future.isDone()) {
            scheduler.remove(s); // cancelled by its submitter
          }
        }
        if (!scheduler.isIdle()) {
          step();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Throwable t) {
      failure = t;
      LOG.log(Level.SEVERE, "engine on backend " + backend.name() + " failed", t);
    } finally {
      List<Sequence> left = scheduler.all();
      submissions.drainTo(left);
      for (Sequence s : left) {
        s.future.completeExceptionally(stoppedException());
      }
      appendWorkers.shutdown();
      closeBackend();
    }
  }

  /**
   * The step thread releases the backend it owns (a CUDA context is bound to it), also when the loop
   * ends by failure, so a failed engine does not keep holding device memory.
   */
  private void closeBackend() {
    try {
      backend.close();
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "closing the " + backend.name() + " backend failed", e);
    }
  }

  private void step() {
    long start = System.nanoTime();
    List<Scheduler.Scheduled> plan = scheduler.schedule();
    if (plan.isEmpty()) {
      throw new IllegalStateException("the scheduler could not run any sequence (KV cache too small)");
    }
    List<ForwardBatch.Chunk> chunks = new ArrayList<>(plan.size());
    for (Scheduler.Scheduled s : plan) {
      Sequence sequence = s.sequence();
      int[] tokens = sequence.tokens(s.startPosition(), s.startPosition() + s.tokens());
      chunks.add(
          new ForwardBatch.Chunk(
              sequence.slot, s.startPosition(), tokens, s.completesSequence()));
    }
    long backendStart = System.nanoTime();
    int[] sampled = sample(plan, new ForwardBatch(chunks));
    stats.backendNanos += System.nanoTime() - backendStart;
    List<Sequence> appending = new ArrayList<>(sampled.length);
    int[] tokens = new int[sampled.length];
    int next = 0;
    for (Scheduler.Scheduled s : plan) {
      Sequence sequence = s.sequence();
      sequence.computed += s.tokens();
      if (!s.completesSequence()) {
        continue;
      }
      int token = sampled[next++];
      if (sequence.future.isDone()) {
        scheduler.remove(sequence);
        continue;
      }
      if (sequence.generated() == 0) {
        sequence.firstTokenNanos = System.nanoTime();
      }
      tokens[appending.size()] = token;
      appending.add(sequence);
    }
    FinishReason[] reasons = advanceAll(appending, tokens);
    stats.generatedTokens += appending.size();
    for (int i = 0; i < reasons.length; i++) {
      if (reasons[i] != null) {
        finish(appending.get(i), reasons[i]);
      }
    }
    stats.steps++;
    stats.busyNanos += System.nanoTime() - start;
    stats.preemptions = scheduler.preemptions();
    stats.running = scheduler.runningCount();
    stats.waiting = scheduler.waitingCount();
  }

  /**
   * Runs the step and picks the next token of every sequence whose chunk completes it: on the device
   * when the backend samples there, else from the logits on the host.
   */
  private int[] sample(List<Scheduler.Scheduled> plan, ForwardBatch batch) {
    List<Scheduler.Scheduled> completing = plan.stream().filter(Scheduler.Scheduled::completesSequence).toList();
    if (backend.samplesOnDevice()) {
      List<Sampling> sampling = new ArrayList<>(completing.size());
      for (Scheduler.Scheduled s : completing) {
        SamplingParams p = s.sequence().sampling;
        sampling.add(new Sampling((float) p.temperature(), p.topK(), (float) p.topP(), (float) p.minP(), p.seed(),
            s.sequence().generated()));
      }
      return backend.forwardAndSample(batch, sampling);
    }
    float[][] logits = backend.forward(batch);
    int[] tokens = new int[logits.length];
    for (int i = 0; i < tokens.length; i++) {
      Sequence sequence = completing.get(i).sequence();
      tokens[i] = Sampler.sample(logits[i], sequence.sampling, sequence.generated());
    }
    return tokens;
  }

  /** {@link #advance} of sequences.get(i) with tokens[i] for every i, in parallel when there are many. */
  private FinishReason[] advanceAll(List<Sequence> sequences, int[] tokens) {
    FinishReason[] reasons = new FinishReason[sequences.size()];
    if (sequences.size() < PARALLEL_APPEND_MIN) {
      for (int i = 0; i < reasons.length; i++) {
        reasons[i] = advance(sequences.get(i), tokens[i]);
      }
    } else {
      appendWorkers.submit(() -> IntStream.range(0, reasons.length).parallel()
          .forEach(i -> reasons[i] = advance(sequences.get(i), tokens[i]))).join();
    }
    return reasons;
  }

  /** Appends the sampled token; returns why the sequence ends, or null if it goes on. */
  private FinishReason advance(Sequence sequence, int token) {
    FinishReason reason = null;
    if (!sequence.request.ignoreEos() && Arrays.stream(eosTokenIds).anyMatch(eos -> eos == token)) {
      sequence.appendWithoutText(token);
      reason = FinishReason.STOP;
    } else {
      String piece = sequence.append(token);
      if (!piece.isEmpty() && truncateAtStopString(sequence, piece.length())) {
        return FinishReason.STOP; // the text ends at the stop string: no held-back tail to add
      }
      if (sequence.generated() >= sequence.request.maxTokens()) {
        reason = FinishReason.LENGTH;
      } else if (sequence.length() >= maxContextTokens) {
        reason = FinishReason.CONTEXT_LIMIT;
      }
    }
    if (reason != null) {
      sequence.flushText();
    }
    return reason;
  }

  /**
   * Looks for a stop string in the part of the text the newest piece could have completed; cuts the
   * text at the earliest one found.
   */
  private static boolean truncateAtStopString(Sequence sequence, int pieceLength) {
    StringBuilder text = sequence.text();
    int cut = -1;
    for (String stop : sequence.request.stop()) {
      int from = Math.max(0, text.length() - pieceLength - stop.length() + 1);
      int at = text.indexOf(stop, from);
      if (at >= 0 && (cut < 0 || at < cut)) {
        cut = at;
      }
    }
    if (cut < 0) {
      return false;
    }
    text.setLength(cut);
    return true;
  }

  private void finish(Sequence sequence, FinishReason reason) {
    scheduler.remove(sequence);
    long now = System.nanoTime();
    stats.requestsCompleted++;
    stats.promptTokens += sequence.promptLength;
    sequence.future.complete(
        new GenerationResult(
            sequence.text().toString(),
            reason,
            sequence.promptLength,
            sequence.generated(),
            sequence.generatedTokens(),
            sequence.firstTokenNanos - sequence.submittedNanos,
            now - sequence.submittedNanos,
            sequence.preemptions));
  }

  private EngineFailedException stoppedException() {
    return failure != null
        ? new EngineFailedException("the engine failed: " + failure, failure)
        : new EngineFailedException("the engine is closed", null);
  }

  private static SamplingParams defaultSampling(GenerationConfig generation) {
    Double temperature = generation.temperature();
    if (temperature == null || temperature == 0) {
      return SamplingParams.greedy();
    }
    return new SamplingParams(
        temperature,
        generation.topK() != null ? generation.topK() : 0,
        generation.topP() != null ? generation.topP() : 1.0,
        0,
        0);
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** Stops the loop, which fails what is still queued and releases the backend. */
  @Override
  public void close() {
    closed = true;
    try {
      loop.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Written by the engine thread (volatile, single writer) except {@code requestsRejected}, which
   * submitters count; {@link #stats()} reads them from any thread.
   */
  private static final class StatsCounters {
    final AtomicLong requestsRejected = new AtomicLong();
    volatile long requestsCompleted;
    volatile long promptTokens;
    volatile long generatedTokens;
    volatile long steps;
    volatile long preemptions;
    volatile long busyNanos;
    volatile long backendNanos;
    volatile int running;
    volatile int waiting;

    EngineStats snapshot() {
      return new EngineStats(
          requestsCompleted,
          requestsRejected.get(),
          promptTokens,
          generatedTokens,
          steps,
          preemptions,
          busyNanos,
          backendNanos,
          running,
          waiting);
    }
  }
}
