#!/bin/sh
# run.sh - attntag against other part-of-speech taggers, side by side, on
# UD English EWT test with gold tokens, one thread each (`make bench`).
#
# Installs what it needs (Debian packages with apt-get, wink-pos-tagger with
# npm into the cache), builds ./attntag, trains the peer models once (cached),
# measures, and writes docs/benchmarks.md and docs/benchmark.svg. Progress goes
# to standard error.
#
# usage: bench/run.sh          (from anywhere; it works in the repository root)
#   BENCH_OUT=/tmp/b bench/run.sh   writes the page and the chart elsewhere
# Environment:
#   EWT_DIR              UD English EWT directory (default data/ud-en-ewt, which
#                        `make data` links); the treebank is never copied
#   XDG_CACHE_HOME       the cache is $XDG_CACHE_HOME/attntag-bench (~/.cache/...)
#   ATTNTAG_BENCH_CACHE  or name the cache directory itself
#   TORCH_EPOCHS         epochs of the PyTorch reference (5)
#   BENCH_RUNS, BENCH_STARTUP_RUNS  runs per tagger, medians taken (5, 15)
#   BENCH_MODEL          attntag model to benchmark (models/en-ewt.safetensors)
#   BENCH_OUT            directory for benchmarks.md and benchmark.svg (docs)
#   BENCH_CPUS           CPU to measure on, CPU to train PyTorch on (0,1)
#   OPENBLAS_CORETYPE    passed on to PyTorch's OpenBLAS: e.g. Haswell where
#                        OpenBLAS does not know the CPU and would run its
#                        generic kernels (the report names the core that ran)
#   OPENBLAS_L2_SIZE     passed on too (the report says what it was)
#
# attntag gets a row per kernel path the processor runs (from `attntag info`),
# and the PyTorch reference a second row with OPENBLAS_CORETYPE=Haswell (its
# AVX2 kernels) where the CPU has AVX-512, for the AVX2 path's targets.
set -eu
BENCH_T0=$(date +%s.%N)
export BENCH_T0
cd "$(dirname "$0")/.."

EWT_DIR=${EWT_DIR:-data/ud-en-ewt}
export EWT_DIR
CACHE=${ATTNTAG_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/attntag-bench}
export ATTNTAG_BENCH_CACHE="$CACHE"

say() { echo "[bench] $*" >&2; }

# one benchmark at a time: two would share the CPUs and the cache
mkdir -p "$CACHE"
exec 9> "$CACHE/.lock"
if ! flock -n 9; then
    say "another bench/run.sh is running: waiting for it to finish"
    flock 9
fi

for f in en_ewt-ud-train.conllu en_ewt-ud-test.conllu; do
    if [ ! -r "$EWT_DIR/$f" ]; then
        echo "bench/run.sh: $EWT_DIR/$f not found: the benchmark needs UD English EWT" \
             "(CC BY-SA 4.0); run make data, or set EWT_DIR to its directory" >&2
        exit 2
    fi
done

# Debian packages: the peers, OpenBLAS's serial build for PyTorch, GNU time,
# gnuplot for the chart.
PKGS="python3 python3-nltk python3-torch python3-numpy libopenblas0-serial
      liblingua-en-tagger-perl nodejs npm time gnuplot-nox util-linux"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
        missing="$missing $p"
done
# nodesource's nodejs package carries npm itself
if [ -n "$missing" ] && command -v npm > /dev/null; then
    missing=$(echo "$missing" | sed 's/ npm\b//')
fi
if [ -n "$missing" ]; then
    SUDO=
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    say "installing:$missing"
    $SUDO apt-get update -qq >&2
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        $missing >&2
fi

# wink-pos-tagger from npm, into the cache (outside the repository)
mkdir -p "$CACHE/npm"
if [ ! -f "$CACHE/npm/node_modules/wink-pos-tagger/package.json" ]; then
    say "npm install wink-pos-tagger into $CACHE/npm"
    npm install --prefix "$CACHE/npm" --no-audit --no-fund --loglevel=error \
        wink-pos-tagger >&2
fi

say "make attntag"
make -s attntag >&2
# measure the release build: a sanitizer build left in ./attntag (by hand, or
# copied there by a test run) is many times slower
if ldd ./attntag 2>/dev/null | grep -q 'lib[a-z]*san\.so'; then
    say "./attntag is a sanitizer build: putting the release build (build/rel) in its place"
    make -s build/rel/attntag >&2
    cp build/rel/attntag attntag
fi

exec /usr/bin/python3 bench/bench.py
