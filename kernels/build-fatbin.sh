#!/usr/bin/env bash
# Compiles every kernel (one translation unit that includes them all) into one fatbin and keeps the
# ptxas register/spill report both in the Maven log and in a file next to the build output. -lineinfo
# costs nothing at run time and lets compute-sanitizer and ncu name source lines.
# Usage: build-fatbin.sh NVCC GENCODE SOURCE.cu OUTPUT.fatbin REPORT.txt
set -euo pipefail
nvcc="$1" gencode="$2" source="$3" output="$4" report="$5"
mkdir -p "$(dirname "$output")" "$(dirname "$report")"
"$nvcc" -fatbin "$gencode" -O3 -std=c++17 -lineinfo -Xptxas -v -o "$output" "$source" 2>&1 | tee "$report"
echo "fatbin: $output ($(stat -c %s "$output") bytes); ptxas report: $report"
