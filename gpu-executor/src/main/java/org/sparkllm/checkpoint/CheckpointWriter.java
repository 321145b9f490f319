package org.sparkllm.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.sparkllm.model.LlamaConfig;

/**
 * Generates a Hugging Face-format Llama checkpoint with seeded random weights: config.json,
 * generation_config.json, a tokenizer and bf16 safetensors. The same arguments always give the same
 * bytes, so tests and benchmarks can run real model sizes without downloading a model.
 */
public final class CheckpointWriter {
  public static final long DEFAULT_SEED = 1234;
  /** Hugging Face's default max_shard_size. */
  public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;

  private CheckpointWriter() {}

  public static void main(String[] args) {
    CheckpointArgs parsed;
    try {
      parsed = CheckpointArgs.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println(CheckpointArgs.USAGE);
      System.exit(2);
      return;
    }
    try {
      write(parsed.shape(), parsed.out(), parsed.seed(), parsed.shardBytes());
    } catch (IOException | UncheckedIOException e) {
      System.err.println("cannot write " + parsed.out() + ": " + e.getMessage());
      System.exit(1);
    }
  }

  /** Writes the whole checkpoint, tokenizer included, into {@code out}. */
  public static void write(ModelShape shape, Path out, long seed, long shardBytes) throws IOException {
    Files.createDirectories(out);
    TinyTokenizerWriter.SpecialTokens tokens = TinyTokenizerWriter.write(out, shape.vocabSize());
    writeModelFiles(shape, out, seed, shardBytes, tokens);
  }

  /**
   * The checkpoint of {@code shape} with the default seed, written once into {@code
   * cacheRoot/<shape>-<seed>} and shared by every later caller.
   */
  public static Path ensure(ModelShape shape, Path cacheRoot) {
    return CheckpointCache.ensure(
        cacheRoot.resolve(shape.cliName() + "-" + DEFAULT_SEED),
        dir -> write(shape, dir, DEFAULT_SEED, DEFAULT_SHARD_BYTES));
  }

  /** Everything but the tokenizer, whose special ids config.json and generation_config.json name. */
  static void writeModelFiles(
      ModelShape shape, Path out, long seed, long shardBytes, TinyTokenizerWriter.SpecialTokens tokens)
      throws IOException {
    int[] eos = {tokens.endOfText(), tokens.eotId()};
    LlamaConfig config = shape.config(tokens.beginOfText(), eos);
    ConfigFiles.writeConfig(out, config);
    ConfigFiles.writeGenerationConfig(out, tokens.beginOfText(), eos);
    WeightFiles.write(out, LlamaWeightLayout.tensors(config, shape.isTiny()), seed, shardBytes);
  }
}
