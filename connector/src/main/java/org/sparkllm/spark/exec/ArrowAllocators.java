package org.sparkllm.spark.exec;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.spark.TaskContext;
import org.apache.spark.util.TaskCompletionListener;

/** One Arrow root allocator per JVM; each task draws from its own child, closed when it ends. */
public final class ArrowAllocators {
  private static final RootAllocator ROOT = new RootAllocator(Long.MAX_VALUE);

  private ArrowAllocators() {}

  /**
   * A child allocator for the task, closed by a completion listener. Register it before anything
   * that holds Arrow buffers: Spark runs completion listeners in reverse order, so the buffers are
   * released before the allocator checks for leaks.
   */
  public static BufferAllocator forTask(TaskContext task) {
    BufferAllocator allocator =
        ROOT.newChildAllocator("spark-llm task " + task.taskAttemptId(), 0, Long.MAX_VALUE);
    task.addTaskCompletionListener((TaskCompletionListener) context -> allocator.close());
    return allocator;
  }
}
