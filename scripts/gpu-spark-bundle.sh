#!/usr/bin/env bash
# Builds what the GPU host needs beyond .bundle to run the Spark job against the bare engine
# (org.sparkllm.examples.bench.SparkToEngineRatio) with no Maven and no JDK: Spark and the dependencies
# .bundle/lib lacks, the connector and examples jars, a jlink'ed runtime with the modules Spark needs,
# and the job's run script. One device call carries at most 64 MiB, so the tree travels as one xz tar cut
# into pieces of at most 58 MiB, one folder each (.bundle-spark/part1, part2, ...: carry one per call);
# scripts/gpu-spark-unpack.sh puts it back together as .bundle-spark/unpacked, and this script ends by
# doing that here and running the job on the CPU backend from it.
#
# Minimised: only the Spark-side jars the job loads classes from are kept (found by running it once with
# class loading logged), native libraries of other platforms are dropped, and jar entries are stored
# uncompressed so xz compresses across class files.
#
# Usage: scripts/gpu-spark-bundle.sh     (after scripts/gpu-bundle.sh, from the same checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
out=.bundle-spark
piece_bytes=$((58 * 1024 * 1024))
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
tree="$stage/unpacked"
mkdir -p "$tree/lib"

if [ ! -d .bundle/lib ]; then
  echo "error: .bundle is missing: run scripts/gpu-bundle.sh first" >&2
  exit 1
fi
mvn -B -q -pl examples -am package dependency:build-classpath -DskipTests -DincludeScope=test \
  -DexcludeGroupIds=org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian \
  -Dmdep.outputFile=target/bundle-classpath.txt

# The job's class path, in Maven's order, relative to the repository root: a jar .bundle/lib holds by
# name is taken from there (the project's own must have the same content, or .bundle is stale), the
# rest is copied into the tree.
for jar in $(tr ':' ' ' < examples/target/bundle-classpath.txt) examples/target/spark-llm-examples-*.jar; do
  name="$(basename "$jar")"
  if [ -f ".bundle/lib/$name" ]; then
    if [[ "$name" == spark-llm-* ]] && [ "$(unzip -p "$jar" | sha256sum)" != "$(unzip -p ".bundle/lib/$name" | sha256sum)" ]; then
      echo "error: .bundle/lib/$name differs from this checkout's build: rerun scripts/gpu-bundle.sh" >&2
      exit 1
    fi
    echo ".bundle/lib/$name"
  else
    cp "$jar" "$tree/lib/"
    echo "$out/unpacked/lib/$name"
  fi
done > "$tree/classpath.txt"

# Spark needs java.desktop (log4j-core fires java.beans events), jdk.security.auth and
# java.security.jgss (Hadoop's login); .bundle's runtime lacks them and has no room for them under
# 64 MiB. Uncompressed here: xz does better on it than jlink's own compression.
jlink --add-modules java.base,java.logging,jdk.unsupported,java.management,jdk.management,java.xml,java.sql,java.naming,java.desktop,jdk.security.auth,java.security.jgss \
  --strip-debug --no-man-pages --no-header-files --compress=0 --output "$tree/runtime"
strip --strip-unneeded "$tree/runtime/lib/server/libjvm.so"

cp examples/conf/log4j2-quiet.properties "$tree/log4j2.properties"
# Spark's --add-opens list, kept in one place (the parent pom), one option per line for java's @file.
sed -n 's:.*<spark.add.opens>\(.*\)</spark.add.opens>.*:\1:p' pom.xml | tr ' ' '\n' > "$tree/jvm-options"
cat > "$tree/run-spark-to-engine.sh" <<'SH'
#!/usr/bin/env bash
# SparkToEngineRatio on this host (see docs/testing.md): run-spark-to-engine.sh [ARGS...], e.g.
#   run-spark-to-engine.sh --model /tmp/spark-llm-models/llama-3.2-1b --backend cuda --out s.json
# Reads .bundle (jars, JCuda's native library) from the repository root two levels up.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
classpath="$(sed "s|^|$root/|" "$here/classpath.txt" | paste -sd:)"
exec "$here/runtime/bin/java" -Xmx24g @"$here/jvm-options" "-Djava.library.path=$root/.bundle/native" \
  "-Dlog4j2.configurationFile=$here/log4j2.properties" -cp "$classpath" \
  org.sparkllm.examples.bench.SparkToEngineRatio "$@"
SH
chmod +x "$tree/run-spark-to-engine.sh"

# Which copied jars the job loads classes from: a short CPU run on the tiny model, from the tree in
# place (it stands where unpacked/ will stand), with class loading logged.
rm -rf "$out"
mkdir -p "$out"
ln -s "$tree" "$out/unpacked"
trace_args=(--backend cpu --prompts 8 --prompt-words 20 --max-tokens 4 --warmup-tokens 2 --repeats 1 --partitions 2)
JDK_JAVA_OPTIONS="-Xlog:class+load=info:file=$stage/classes.log" \
  "$out/unpacked/run-spark-to-engine.sh" "${trace_args[@]}" --out "$stage/trace.json" > "$stage/trace.log" 2>&1 \
  || { tail -20 "$stage/trace.log"; exit 1; }
grep -o 'source: file:[^ ]*\.jar' "$stage/classes.log" | sed 's:.*/::' | sort -u > "$stage/loaded.txt"
for jar in "$tree"/lib/*.jar; do
  name="$(basename "$jar")"
  if ! grep -qxF "$name" "$stage/loaded.txt"; then
    echo "dropped (no class loaded): $name ($(($(stat -c %s "$jar") / 1024)) KiB)"
    rm "$jar"
    grep -vxF "$out/unpacked/lib/$name" "$tree/classpath.txt" > "$stage/cp" && mv "$stage/cp" "$tree/classpath.txt"
  fi
done
rm "$out/unpacked"
python3 scripts/repack_jars.py "$tree"/lib/*.jar

echo "tree: $(($(du -sb "$tree" | cut -f1) / 1024 / 1024)) MiB; compressing (xz -9, minutes)"
tar -C "$stage" -cf - unpacked | xz -9 -T2 > "$stage/spark.tar.xz"
bytes="$(stat -c %s "$stage/spark.tar.xz")"
pieces=$(((bytes + piece_bytes - 1) / piece_bytes))
# Even pieces, each alone in its folder, so each device call carries one folder.
split -n "$pieces" -d -a 2 "$stage/spark.tar.xz" "$stage/spark.tar.xz."
for i in $(seq 1 "$pieces"); do
  mkdir -p "$out/part$i"
  mv "$stage/spark.tar.xz.$(printf %02d $((i - 1)))" "$out/part$i/"
done
(cd "$out" && sha256sum part*/spark.tar.xz.* > "$stage/pieces.sha256" && mv "$stage/pieces.sha256" part1/)

scripts/gpu-spark-unpack.sh
"$out/unpacked/run-spark-to-engine.sh" "${trace_args[@]}" --out "$stage/check.json" 2> "$stage/check.log" \
  || { tail -20 "$stage/check.log"; exit 1; }
for part in "$out"/part*; do
  echo "$part: $(($(du -sb "$part" | cut -f1) / 1024 / 1024)) MiB ($(du -sb "$part" | cut -f1) bytes)"
done
