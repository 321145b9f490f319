#!/usr/bin/env bash
# compute-sanitizer's memcheck and racecheck over a few megakernel steps on the tiny shape
# (MegakernelSanitizerGpuTest), on a GPU host with .bundle from scripts/gpu-bundle.sh. Logs go to OUT;
# prints each tool's error summary and exits non-zero if a tool reports an error or the test fails.
#
# Usage: scripts/gpu-sanitizer.sh OUT [TOOLS]   TOOLS: comma-separated, default memcheck,racecheck
set -uo pipefail
out="${1:?usage: gpu-sanitizer.sh OUT [memcheck,racecheck]}"
tools="${2:-memcheck,racecheck}"
mkdir -p "$out"
source .bundle/classpath.sh
sanitizer="$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)"
status=0
for tool in ${tools//,/ }; do
  echo "== $tool ($(date +%T))" >&2
  "$sanitizer" --tool "$tool" --target-processes all --error-exitcode 99 \
    "$here/runtime/bin/java" "${java_opts[@]}" -jar "$here/junit-platform-console-standalone.jar" execute \
    --class-path "$classpath" --disable-banner --details summary \
    --select-class org.sparkllm.backend.megakernel.MegakernelSanitizerGpuTest \
    > "$out/$tool.log" 2>&1 || status=1
  echo "$tool: $(grep -E '(ERROR|RACECHECK) SUMMARY' "$out/$tool.log" | tail -1); $(grep -E 'tests (successful|failed)' "$out/$tool.log" | tr -s ' []' ' ' | tr '\n' ';')"
done
exit $status
