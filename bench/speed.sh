#!/bin/sh
# speed.sh - how fast attntag tags: tokens per second on one core over the
# EWT test set (gold tokens, one sentence per line), and the wall time of
# tagging one short sentence from a cold start (start-up included).
#
# usage: bench/speed.sh [MODEL]     (run from the repository root after `make`)
# EWT_DIR overrides where the UD English EWT treebank is looked for.
set -eu
BIN=${ATTNTAG_BIN:-./attntag}
MODEL=${1:-models/en-ewt.safetensors}
EWT_DIR=${EWT_DIR:-../shared/data/ud-en-ewt}
TEST="$EWT_DIR/en_ewt-ud-test.conllu"
RUNS=${RUNS:-5}
if [ ! -r "$TEST" ]; then
    echo "speed.sh: $TEST not found (set EWT_DIR to the UD English EWT directory)" >&2
    exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Gold tokens, one sentence per line: word lines have an integer ID.
awk -F'\t' '/^[0-9]+\t/ { printf "%s%s", sep, $2; sep = " " }
            /^$/ { if (sep != "") print ""; sep = "" }' "$TEST" > "$tmp/test.txt"
tokens=$(wc -w < "$tmp/test.txt")
sentences=$(wc -l < "$tmp/test.txt")

now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "attntag speed, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "binary: $($BIN --version); model: $MODEL ($(wc -c < "$MODEL") bytes)"
echo "input: $TEST: $sentences sentences, $tokens tokens"

: > "$tmp/tagging"
i=0
while [ $i -lt "$RUNS" ]; do
    t0=$(now)
    taskset -c 0 "$BIN" -m "$MODEL" < "$tmp/test.txt" > "$tmp/out.txt"
    t1=$(now)
    echo "$t0 $t1" | awk '{ print $2 - $1 }' >> "$tmp/tagging"
    i=$((i + 1))
done
out_tokens=$(wc -w < "$tmp/out.txt")
[ "$out_tokens" -eq "$tokens" ] || { echo "speed.sh: $out_tokens tokens out, $tokens in" >&2; exit 1; }
secs=$(median < "$tmp/tagging")
echo "tagging, one core (median of $RUNS): $secs s, $(echo "$tokens $secs" | awk '{ printf "%.0f", $1 / $2 }') tokens/s"

: > "$tmp/hello"
i=0
while [ $i -lt 20 ]; do
    t0=$(now)
    echo "Hello world ." | "$BIN" -m "$MODEL" > /dev/null
    t1=$(now)
    echo "$t0 $t1" | awk '{ print ($2 - $1) * 1000 }' >> "$tmp/hello"
    i=$((i + 1))
done
echo "echo \"Hello world .\" | attntag, wall time (median of 20): $(median < "$tmp/hello") ms"
