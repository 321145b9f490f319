#!/usr/bin/env bash
# The issue-5 run on a GPU host (no Maven, no JDK needed), from the repository root with .bundle built by
# scripts/gpu-bundle.sh (and, for the spark phase, the parts of .bundle-spark from scripts/gpu-spark-bundle.sh):
# generates the Llama-3.2-1B-shaped checkpoints, the transformers references, runs every gpu-tagged test,
# the transformers peer, the Spark job against the bare engine and the baseline benchmark, which merges
# the peer's and the Spark job's results. Logs and results go to OUT.
#
# Usage: scripts/gpu-baseline.sh OUT [PHASES]   PHASES: any of refs,tests,peer,spark,bench,mega (default: the
#        first five; mega runs issue 6's MegakernelBenchmark, env MEGA_ARGS)
# Env: MODELS (default /tmp/spark-llm-models), BENCH_ARGS (extra GpuBaselineBenchmark arguments),
#      PEER_ARGS (extra hf_peer.py arguments), PEER_JSON (an earlier hf_peer.py result to merge),
#      SPARK_ARGS (extra SparkToEngineRatio arguments), SPARK_JSON (an earlier spark phase result to merge).
set -uo pipefail
out="${1:?usage: gpu-baseline.sh OUT [refs,tests,peer,spark,bench]}"
phases="${2:-refs,tests,peer,spark,bench}"
models="${MODELS:-/tmp/spark-llm-models}"
bundle=.bundle
base="$models/llama-3.2-1b"
confident="$models/llama-3.2-1b-bigram"
mkdir -p "$out" "$models"
status=0

phase() { [[ ",$phases," == *",$1,"* ]]; }
step() { echo "== $1 ($(date +%T))" >&2; }

if [ ! -f "$base/config.json" ]; then
  step "checkpoint $base"
  "$bundle/run-java.sh" org.sparkllm.checkpoint.CheckpointWriter --shape llama-3.2-1b --out "$base" || exit 1
fi
if phase refs; then
  step "transformers references"
  [ -f "$confident/config.json" ] || python3 scripts/confident_checkpoint.py --model "$base" --out "$confident" || status=1
  python3 scripts/hf_logits_reference.py --model "$base" --out "$models/hf-reference" > "$out/hf-reference.log" 2>&1 \
    || { status=1; tail -5 "$out/hf-reference.log"; }
  python3 scripts/hf_logits_reference.py --model "$confident" --out "$models/hf-reference-greedy" \
    > "$out/hf-reference-greedy.log" 2>&1 || { status=1; tail -5 "$out/hf-reference-greedy.log"; }
fi
if phase tests; then
  step "gpu-tagged tests"
  SPARKLLM_HF_REFERENCE="$models/hf-reference" SPARKLLM_HF_GREEDY_REFERENCE="$models/hf-reference-greedy" \
    "$bundle/run-gpu-tests.sh" "$out/test-reports" > "$out/gpu-tests.log" 2>&1 || status=1
  grep -E "tests (successful|failed|skipped)|MethodSource|=>" "$out/gpu-tests.log" | tail -40
fi
if phase peer; then
  step "transformers peer"
  # shellcheck disable=SC2086
  timeout 300 python3 scripts/hf_peer.py --model "$base" --out "$out/hf_peer.json" ${PEER_ARGS:-} > "$out/hf_peer.log" 2>&1 \
    || { status=1; tail -5 "$out/hf_peer.log"; }
fi
if phase spark; then
  step "Spark job against the bare engine"
  if scripts/gpu-spark-unpack.sh; then
    # shellcheck disable=SC2086
    .bundle-spark/unpacked/run-spark-to-engine.sh --model "$base" --backend cuda --out "$out/spark-to-engine.json" \
      ${SPARK_ARGS:-} > "$out/spark.log" 2>&1 || { status=1; tail -20 "$out/spark.log"; }
    grep '^spark-to-engine' "$out/spark.log"
  else
    status=1
  fi
fi
if phase bench; then
  step "baseline benchmark"
  peer=()
  [ -f "$out/hf_peer.json" ] && peer=(--hf-peer "$out/hf_peer.json")
  [ -n "${PEER_JSON:-}" ] && peer=(--hf-peer "$PEER_JSON")
  spark=()
  [ -f "$out/spark-to-engine.json" ] && spark=(--spark "$out/spark-to-engine.json")
  [ -n "${SPARK_JSON:-}" ] && spark=(--spark "$SPARK_JSON")
  # shellcheck disable=SC2086
  "$bundle/run-java.sh" org.sparkllm.bench.gpu.GpuBaselineBenchmark --model "$base" --out-dir "$out/perf" \
    "${peer[@]}" "${spark[@]}" ${BENCH_ARGS:-} > "$out/bench.log" 2>&1 || { status=1; tail -20 "$out/bench.log"; }
  cat "$out/perf/gpu-baseline.md" 2>/dev/null
fi
if phase mega; then
  step "megakernel benchmark"
  # shellcheck disable=SC2086
  "$bundle/run-java.sh" org.sparkllm.bench.gpu.MegakernelBenchmark --model "$base" --out-dir "$out/perf" \
    ${MEGA_ARGS:-} > "$out/mega.log" 2>&1 || { status=1; tail -20 "$out/mega.log"; }
  cat "$out/perf/megakernel.md" 2>/dev/null
fi
exit $status
