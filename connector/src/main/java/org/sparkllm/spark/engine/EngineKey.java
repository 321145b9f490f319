package org.sparkllm.spark.engine;

import org.sparkllm.engine.EngineOptions;

/**
 * Which engine a task uses: one per model and device, and per engine sizing so sessions with
 * different settings in one JVM (local mode, tests) do not share a mis-sized engine.
 *
 * @param device "cpu", or "gpu:ADDRESS" for the GPU the task was given
 * @param engineDevice where the engine runs: "cpu" or "cuda:ORDINAL"
 */
public record EngineKey(String model, String device, String engineDevice, EngineOptions options) {}
