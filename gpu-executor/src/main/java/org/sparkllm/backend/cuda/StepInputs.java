package org.sparkllm.backend.cuda;

import java.nio.ByteBuffer;
import org.sparkllm.backend.Sampling;
import org.sparkllm.cuda.CudaContext;
import org.sparkllm.cuda.CudaStream;
import org.sparkllm.cuda.DeviceBuffer;
import org.sparkllm.cuda.PinnedHostBuffer;

/**
 * What one step tells the kernels, in one device region mirrored by one pinned host region, so a step
 * costs a single host-to-device copy. A CUDA graph captures this region's addresses, so each graph
 * bucket owns its own region; the kernels read the counts from it, which lets a graph sized for a
 * bucket run fewer rows.
 *
 * <p>Layout (int32 unless noted): counts {tokens, decode rows, logit rows, 0}; tokens[tokenCapacity];
 * slots[tokenCapacity]; positions[tokenCapacity]; decodeRows[tokenCapacity] (token index of each
 * single-token chunk); logitRows[rowCapacity] (token index whose logits are wanted); prefill tiles
 * int4[tileCapacity] {firstToken, count, slot, firstPosition}; sampling parameters
 * [rowCapacity][32 bytes]. The sampled tokens come back through a separate output array.
 */
final class StepInputs implements AutoCloseable {
  private final int tokenCapacity;
  private final int rowCapacity;
  private final int tileCapacity;
  private final long tokensOffset;
  private final long slotsOffset;
  private final long positionsOffset;
  private final long decodeRowsOffset;
  private final long logitRowsOffset;
  private final long tilesOffset;
  private final long paramsOffset;
  private final long bytes;
  private final DeviceBuffer device;
  private final PinnedHostBuffer host;
  private final DeviceBuffer sampled;
  private final PinnedHostBuffer sampledHost;
  private final ByteBuffer view;
  private int tokens;
  private int decodeRows;
  private int logitRows;
  private int tiles;

  StepInputs(CudaContext context, int tokenCapacity, int rowCapacity, int tileCapacity) {
    this.tokenCapacity = tokenCapacity;
    this.rowCapacity = rowCapacity;
    this.tileCapacity = tileCapacity;
    long at = 16;
    tokensOffset = at;
    at += 4L * tokenCapacity;
    slotsOffset = at;
    at += 4L * tokenCapacity;
    positionsOffset = at;
    at += 4L * tokenCapacity;
    decodeRowsOffset = at;
    at += 4L * tokenCapacity;
    logitRowsOffset = at;
    at += 4L * rowCapacity;
    at = (at + 15) / 16 * 16;
    tilesOffset = at;
    at += 16L * tileCapacity;
    at = (at + 31) / 32 * 32; // parameters are written by row index: whole 32-byte records from 0
    paramsOffset = at;
    at += (long) DeviceSampler.PARAMS_BYTES * rowCapacity;
    this.bytes = at;
    this.device = context.allocate(bytes);
    this.host = context.allocatePinned(bytes);
    this.sampled = context.allocate(4L * rowCapacity);
    this.sampledHost = context.allocatePinned(4L * rowCapacity);
    this.view = host.buffer();
  }

  int tokenCapacity() {
    return tokenCapacity;
  }

  int rowCapacity() {
    return rowCapacity;
  }

  /** Starts a new step: every count back to zero. */
  void clear() {
    tokens = 0;
    decodeRows = 0;
    logitRows = 0;
    tiles = 0;
  }

  /** Appends one token; returns its index in the step. */
  int addToken(int token, int slot, int position) {
    if (tokens == tokenCapacity) {
      throw new IllegalStateException("step holds more than " + tokenCapacity + " tokens");
    }
    int t = tokens++;
    view.putInt((int) (tokensOffset + 4L * t), token);
    view.putInt((int) (slotsOffset + 4L * t), slot);
    view.putInt((int) (positionsOffset + 4L * t), position);
    return t;
  }

  /** Marks token {@code t} (the only token of its chunk) for the decode attention kernel. */
  void addDecodeRow(int t) {
    view.putInt((int) (decodeRowsOffset + 4L * decodeRows++), t);
  }

  /** A prefill tile: {@code count} (at most 64) consecutive tokens of one slot. */
  void addTile(int firstToken, int count, int slot, int firstPosition) {
    if (tiles == tileCapacity) {
      throw new IllegalStateException("step holds more than " + tileCapacity + " prefill tiles");
    }
    int at = (int) (tilesOffset + 16L * tiles++);
    view.putInt(at, firstToken);
    view.putInt(at + 4, count);
    view.putInt(at + 8, slot);
    view.putInt(at + 12, firstPosition);
  }

  /** Asks for the logits (and a sampled token) of token {@code t}. */
  void addLogitRow(int t, Sampling sampling) {
    if (logitRows == rowCapacity) {
      throw new IllegalStateException("step wants logits of more than " + rowCapacity + " tokens");
    }
    view.putInt((int) (logitRowsOffset + 4L * logitRows), t);
    DeviceSampler.writeParams(view, (int) (paramsOffset / DeviceSampler.PARAMS_BYTES) + logitRows, sampling);
    logitRows++;
  }

  /** Pads the token arrays up to {@code rows} with harmless entries (token 0, row index as its row). */
  void padTo(int rows) {
    for (int t = tokens; t < rows; t++) {
      view.putInt((int) (tokensOffset + 4L * t), 0);
      view.putInt((int) (slotsOffset + 4L * t), 0);
      view.putInt((int) (positionsOffset + 4L * t), 0);
      view.putInt((int) (decodeRowsOffset + 4L * t), t);
      view.putInt((int) (logitRowsOffset + 4L * t), t);
    }
  }

  int tokens() {
    return tokens;
  }

  int decodeRows() {
    return decodeRows;
  }

  int logitRows() {
    return logitRows;
  }

  int tiles() {
    return tiles;
  }

  /** Writes the counts and enqueues the copy of the whole region to the device. */
  void upload(CudaStream stream) {
    view.putInt(0, tokens);
    view.putInt(4, decodeRows);
    view.putInt(8, logitRows);
    view.putInt(12, 0);
    device.copyFrom(host, bytes, stream);
  }

  /** Enqueues the copy of the sampled tokens to the host; read them after the stream synchronises. */
  void downloadSampled(CudaStream stream) {
    sampled.copyTo(sampledHost, 4L * logitRows, stream);
  }

  int[] sampledTokens() {
    int[] out = new int[logitRows];
    ByteBuffer b = sampledHost.buffer();
    for (int i = 0; i < out.length; i++) {
      out[i] = b.getInt(4 * i);
    }
    return out;
  }

  long tokenCountAddress() {
    return device.address();
  }

  long decodeRowCountAddress() {
    return device.address() + 4;
  }

  long logitRowCountAddress() {
    return device.address() + 8;
  }

  long tokensAddress() {
    return device.address() + tokensOffset;
  }

  long slotsAddress() {
    return device.address() + slotsOffset;
  }

  long positionsAddress() {
    return device.address() + positionsOffset;
  }

  long decodeRowsAddress() {
    return device.address() + decodeRowsOffset;
  }

  long logitRowsAddress() {
    return device.address() + logitRowsOffset;
  }

  long tilesAddress() {
    return device.address() + tilesOffset;
  }

  long paramsAddress() {
    return device.address() + paramsOffset;
  }

  long sampledAddress() {
    return sampled.address();
  }

  @Override
  public void close() {
    device.close();
    host.close();
    sampled.close();
    sampledHost.close();
  }
}
