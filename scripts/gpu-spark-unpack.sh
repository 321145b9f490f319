#!/usr/bin/env bash
# Puts .bundle-spark/unpacked together from the pieces scripts/gpu-spark-bundle.sh made
# (.bundle-spark/part1, part2, ..., carried to the GPU host one per device call), after checking every
# piece against the checksums in part1. Does nothing when unpacked/ already comes from these pieces.
set -euo pipefail
cd "$(dirname "$0")/../.bundle-spark"
sums=part1/pieces.sha256
if [ ! -f "$sums" ]; then
  echo "error: .bundle-spark/$sums is missing: carry .bundle-spark/part1" >&2
  exit 1
fi
if cmp -s "$sums" unpacked/pieces.sha256; then
  exit 0
fi
if ! sha256sum --quiet -c "$sums"; then
  echo "error: a piece is missing or damaged: carry every folder .bundle-spark/partN listed in $sums" >&2
  exit 1
fi
rm -rf unpacked
# xz is not on every image; Python's lzma reads the same format.
if command -v xz > /dev/null; then
  unxz=(xz -dc)
else
  unxz=(python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer)')
fi
awk '{print $2}' "$sums" | xargs cat | "${unxz[@]}" | tar -x
cp "$sums" unpacked/pieces.sha256
