package org.sparkllm.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The cluster is real: tasks run in separate executor processes, each holding its own fake GPU. */
@Timeout(300)
class ClusterHarnessTest {
  private static final int TASKS = 8;

  @Test
  void tasksRunInTwoExecutorProcessesEachWithItsOwnGpu() {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(TestCluster.session().sparkContext());
    List<Integer> partitions = IntStream.range(0, TASKS).boxed().toList();

    List<String> seen = jsc.parallelize(partitions, TASKS).mapPartitions(ClusterHarnessTest::whereAmI).collect();

    assertEquals(TASKS, seen.size());
    // pid -> the GPU addresses its tasks were given
    Map<Long, Set<String>> gpusByProcess = new TreeMap<>();
    for (String line : seen) {
      String[] pidAndGpus = line.split(" ", 2);
      assertEquals(1, pidAndGpus[1].split(",").length, "each task holds exactly one GPU: " + line);
      gpusByProcess.computeIfAbsent(Long.parseLong(pidAndGpus[0]), k -> new TreeSet<>()).add(pidAndGpus[1]);
    }
    assertEquals(TestCluster.EXECUTORS, gpusByProcess.size(), "executor processes: " + gpusByProcess);
    assertFalse(gpusByProcess.containsKey(ProcessHandle.current().pid()), "no task ran in the driver");
    gpusByProcess.values().forEach(gpus -> assertEquals(1, gpus.size(), "one GPU per executor: " + gpusByProcess));
    Set<String> allGpus =
        gpusByProcess.values().stream().flatMap(Set::stream).collect(Collectors.toCollection(TreeSet::new));
    assertEquals(Set.of("0", "1"), allGpus, "the workers discovered distinct GPUs");
  }

  /** "pid gpu-addresses" of the task running this partition; slow enough that both executors get tasks. */
  private static Iterator<String> whereAmI(Iterator<Integer> partition) throws InterruptedException {
    Thread.sleep(300);
    String gpus = String.join(",", TaskContext.get().resourcesJMap().get("gpu").addresses());
    List<String> out = new ArrayList<>();
    out.add(ProcessHandle.current().pid() + " " + gpus);
    return out.iterator();
  }
}
