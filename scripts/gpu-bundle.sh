#!/usr/bin/env bash
# Builds a self-contained directory that runs the gpu-tagged tests and the KV-cache trace benchmark on a
# GPU host with no Maven and no JDK: a jlink'ed runtime, the project and dependency jars, the test
# classes, the kernels fatbin (inside the kernels jar), JCuda's driver JNI library pre-extracted, and the
# JUnit console launcher.
#
# Usage: scripts/gpu-bundle.sh [BUNDLE_DIR]      (default: .bundle, git-ignored)
# Then on the GPU host: BUNDLE_DIR/run-gpu-tests.sh REPORT_DIR
#                       BUNDLE_DIR/run-trace-benchmark.sh OUT.json [--steps N] [--step-us US]
set -euo pipefail
cd "$(dirname "$0")/.."
bundle="${1:-.bundle}"
junit_platform_version=1.14.4 # matches junit.version 5.14.4 in the parent pom (JUnit BOM)
jcuda_natives="org/jcuda/jcuda-natives/12.6.0/jcuda-natives-12.6.0-linux-x86_64.jar"

rm -rf "$bundle"
mkdir -p "$bundle/lib" "$bundle/native"

mvn -B -q -pl kernels,gpu-executor -am package dependency:copy-dependencies -DskipTests \
  -DincludeScope=test -DexcludeGroupIds=org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian \
  -DoutputDirectory="$PWD/$bundle/lib"
mvn -B -q dependency:copy \
  -Dartifact="org.junit.platform:junit-platform-console-standalone:$junit_platform_version" \
  -DoutputDirectory="$PWD/$bundle"
mv "$bundle/junit-platform-console-standalone-$junit_platform_version.jar" "$bundle/junit-platform-console-standalone.jar"

cp gpu-executor/target/spark-llm-gpu-executor-*.jar "$bundle/lib/"
cp -r gpu-executor/target/test-classes "$bundle/test-classes"
# (not `unzip -l | grep -q`: grep exits at the first match, unzip dies of SIGPIPE and pipefail reports failure)
if ! unzip -l "$bundle"/lib/spark-llm-kernels-*.jar org/sparkllm/kernels/kernels.fatbin >/dev/null; then
  echo "warning: the kernels jar has no fatbin (built without nvcc): the GPU tests will fail" >&2
fi

# Only libJCudaDriver is used (DESIGN.md section 6): pre-extract it for java.library.path, so JCuda never
# unpacks into the shared tmpdir, and drop the other native libraries from the jar.
natives_jar="$(ls "$bundle"/lib/jcuda-natives-*.jar)"
unzip -q -j "$natives_jar" 'lib/libJCudaDriver-*.so' -d "$bundle/native"
zip -q -d "$natives_jar" 'lib/libJNvPTXCompiler-*' 'lib/libJNvrtc-*' 'lib/libJCudaRuntime-*'
# DJL tokenizers: keep the linux-x86_64 native library only.
for jar in "$bundle"/lib/tokenizers-*.jar; do
  zip -q -d "$jar" 'native/lib/linux-aarch64/*' 'native/lib/osx-*' 'native/lib/win-*' || true
done

jlink --add-modules java.base,java.logging,jdk.unsupported,java.management,jdk.management,java.xml,java.sql,java.naming \
  --strip-debug --no-man-pages --no-header-files --compress=2 --output "$bundle/runtime"
# The JDK's libjvm.so keeps its full symbol table (~4 MB); the JVM needs only the dynamic symbols.
if command -v strip >/dev/null; then
  strip --strip-unneeded "$bundle/runtime/lib/server/libjvm.so"
fi
# A device call carries at most 64 MiB: libjvm.so travels xz-compressed (~20 -> ~5 MB) and classpath.sh
# unpacks it on first use.
xz -9 "$bundle/runtime/lib/server/libjvm.so"

cat > "$bundle/classpath.sh" <<'SH'
# Sourced by the run scripts: the bundle's class path and JVM options.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jvm="$here/runtime/lib/server/libjvm.so"
if [ ! -f "$jvm" ]; then
  python3 -c 'import lzma, sys; open(sys.argv[2], "wb").write(lzma.open(sys.argv[1]).read())' "$jvm.xz" "$jvm.part"
  mv "$jvm.part" "$jvm"
fi
classpath="$here/test-classes:$(ls "$here"/lib/*.jar | tr '\n' ':')"
java_opts=(-Xmx24g "-Djava.library.path=$here/native")
SH

cat > "$bundle/run-gpu-tests.sh" <<'SH'
#!/usr/bin/env bash
# Runs every gpu-tagged test; JUnit XML reports go to REPORT_DIR (default: ./gpu-test-reports).
set -euo pipefail
source "$(dirname "$0")/classpath.sh"
reports="${1:-gpu-test-reports}"
mkdir -p "$reports"
exec "$here/runtime/bin/java" "${java_opts[@]}" -jar "$here/junit-platform-console-standalone.jar" execute \
  --class-path "$classpath" --scan-class-path "$here/test-classes" --include-tag gpu \
  --reports-dir "$reports" --details tree --disable-banner
SH

cat > "$bundle/run-trace-benchmark.sh" <<'SH'
#!/usr/bin/env bash
# The Llama-3.2-1B decode-trace benchmark of the vAttention KV cache; writes OUT (default kv-cache-trace.json).
set -euo pipefail
source "$(dirname "$0")/classpath.sh"
out="${1:-kv-cache-trace.json}"
shift || true
exec "$here/runtime/bin/java" "${java_opts[@]}" -cp "$classpath" org.sparkllm.kvcache.KvCacheTraceBenchmark \
  --out "$out" "$@"
SH
cat > "$bundle/run-java.sh" <<'SH'
#!/usr/bin/env bash
# Runs a main class of the project: run-java.sh CLASS [ARGS...], e.g.
#   run-java.sh org.sparkllm.checkpoint.CheckpointWriter --shape llama-3.2-1b --out /tmp/models/llama-3.2-1b
#   run-java.sh org.sparkllm.bench.gpu.GpuBaselineBenchmark --model DIR --hf-peer hf.json
set -euo pipefail
source "$(dirname "$0")/classpath.sh"
main="$1"
shift
exec "$here/runtime/bin/java" "${java_opts[@]}" -cp "$classpath" "$main" "$@"
SH
chmod +x "$bundle/run-gpu-tests.sh" "$bundle/run-trace-benchmark.sh" "$bundle/run-java.sh"

bytes="$(du -sb "$bundle" | cut -f1)"
echo "bundle: $bundle ($((bytes / 1024 / 1024)) MiB, $bytes bytes)"
if (( bytes >= 64 * 1024 * 1024 )); then
  echo "error: the bundle must stay under 64 MiB" >&2
  exit 1
fi
