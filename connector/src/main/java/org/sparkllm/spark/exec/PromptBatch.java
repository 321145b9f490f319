package org.sparkllm.spark.exec;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * Up to {@code maxRows} input rows of a partition: the rows themselves (copied, to be joined with
 * their results later) and, as Arrow vectors, their ordinals in the partition and each call's
 * prompt. The Arrow batch is what the engine side reads; a later out-of-process engine can take it
 * as is.
 */
final class PromptBatch implements AutoCloseable {
  final List<InternalRow> rows;
  private final BigIntVector ordinals;
  private final List<VarCharVector> prompts;

  private PromptBatch(List<InternalRow> rows, BigIntVector ordinals, List<VarCharVector> prompts) {
    this.rows = rows;
    this.ordinals = ordinals;
    this.prompts = prompts;
  }

  /** Reads the next rows of {@code input}; call only while it has one. */
  static PromptBatch read(
      Iterator<InternalRow> input,
      List<UnsafeProjection> promptProjections,
      int maxRows,
      long firstOrdinal,
      BufferAllocator allocator) {
    BigIntVector ordinals = new BigIntVector("ordinal", allocator);
    List<VarCharVector> prompts = new ArrayList<>();
    for (int c = 0; c < promptProjections.size(); c++) {
      prompts.add(new VarCharVector("prompt_" + c, allocator));
    }
    List<InternalRow> rows = new ArrayList<>();
    try {
      while (rows.size() < maxRows && input.hasNext()) {
        InternalRow row = input.next().copy(); // upstream operators reuse their row objects
        int i = rows.size();
        rows.add(row);
        ordinals.setSafe(i, firstOrdinal + i);
        for (int c = 0; c < prompts.size(); c++) {
          UTF8String prompt = promptProjections.get(c).apply(row).getUTF8String(0);
          if (prompt == null) {
            prompts.get(c).setNull(i);
          } else {
            prompts.get(c).setSafe(i, prompt.getBytes());
          }
        }
      }
    } catch (RuntimeException e) {
      ordinals.close();
      prompts.forEach(VarCharVector::close);
      throw e;
    }
    ordinals.setValueCount(rows.size());
    prompts.forEach(p -> p.setValueCount(rows.size()));
    return new PromptBatch(rows, ordinals, prompts);
  }

  int size() {
    return rows.size();
  }

  long ordinal(int row) {
    return ordinals.get(row);
  }

  /** The prompt of call {@code call} for row {@code row}, or null. */
  String prompt(int call, int row) {
    VarCharVector v = prompts.get(call);
    return v.isNull(row) ? null : new String(v.get(row), StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    ordinals.close();
    prompts.forEach(VarCharVector::close);
  }
}
