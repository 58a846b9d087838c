#!/bin/sh
# speed.sh - how fast attntag tags: tokens per second on one core over the
# EWT test set (gold tokens, one sentence per line), and the wall time of
# tagging one short sentence from a cold start (start-up included); then the
# model's multiply-adds per token against the core's measured peak (bench/
# peak.c), the same input as one line of a million tokens and as 200,000
# short sentences, and whether every kernel path gives the reference path's
# tags on EWT dev, and one thread against two.
#
# usage: bench/speed.sh [MODEL]     (run from the repository root after `make`)
# EWT_DIR overrides where the UD English EWT treebank is looked for.
set -eu
BIN=${ATTNTAG_BIN:-./attntag}
MODEL=${1:-models/en-ewt.safetensors}
EWT_DIR=${EWT_DIR:-data/ud-en-ewt}
TEST="$EWT_DIR/en_ewt-ud-test.conllu"
RUNS=${RUNS:-5}
if [ ! -r "$TEST" ]; then
    echo "speed.sh: $TEST not found (make data, or set EWT_DIR to the UD English EWT directory)" >&2
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
while [ $i -lt 15 ]; do
    t0=$(now)
    echo "Hello world ." | "$BIN" -m "$MODEL" > /dev/null
    t1=$(now)
    echo "$t0 $t1" | awk '{ print ($2 - $1) * 1000 }' >> "$tmp/hello"
    i=$((i + 1))
done
echo "echo \"Hello world .\" | attntag, wall time (median of 15): $(median < "$tmp/hello") ms"

# tokens/s of one run of attntag on core 0 over FILE (start-up included)
rate() {
    n=$(wc -w < "$1")
    t0=$(now)
    taskset -c 0 "$BIN" -m "$MODEL" < "$1" > "$tmp/rate.out"
    t1=$(now)
    [ "$(wc -w < "$tmp/rate.out")" -eq "$n" ] || { echo "speed.sh: tokens lost" >&2; exit 1; }
    echo "$n $t0 $t1" | awk '{ printf "%.0f", $1 / ($3 - $2) }'
}

# The arithmetic: the matrix products' multiply-adds per token (blocks and
# classifiers, in 8-bit integers for an int8 model; the n-gram projection in
# floats; attention's scores and sums depend on the
# sentence length and are left out), against the core's peak.
cc -O2 -o "$tmp/peak" bench/peak.c
taskset -c 0 "$tmp/peak" 2> /dev/null > "$tmp/peak.txt"
macs=$(python3 - "$MODEL" <<'PY'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    h = json.loads(f.read(n))
c = json.loads(h["__metadata__"]["attntag.config"])
d, fd, L = c["dim"], c["ffn_dim"], c["layers"]
heads = sum(h["heads.%s.weight" % t]["shape"][0] for t in c["tagsets"])
blocks = L * (4 * d * d + 2 * d * fd) + d * heads
other = d * (c["char_dim"] if c["char_buckets"] else 0)
print(blocks, other, 1 if c.get("int8") else 0)
PY
)
set -- $macs
int8=$3
kind=$([ "$int8" = 1 ] && echo "int8-vnni-avx512" || echo "fp32-fma-avx512")
peak=$(awk -v k="$kind" '$1 == k { print $2 }' "$tmp/peak.txt")
[ -n "$peak" ] || { kind=fp32-fma-avx2; peak=$(awk '$1 == "fp32-fma-avx2" { print $2 }' "$tmp/peak.txt"); }
echo "peak of core 0 (bench/peak.c, giga multiply-adds/s): $(tr '\n' ' ' < "$tmp/peak.txt")"
echo "$1 $2 $secs $tokens $peak $kind" | awk '{ r = $4 / $3; printf "multiply-adds per token: %d in the blocks and classifiers (%s products) + %d in floats; at %.0f tokens/s the blocks run at %.1f G/s, %.0f%% of the %s peak\n", $1, ($6 ~ /int8/ ? "8-bit" : "float"), $2, r, r * $1 / 1e9, 100 * r * $1 / 1e9 / $5, $6 }'

# Linear cost: one line of a million tokens; 200,000 short sentences.
awk '{ for (i = 1; i <= NF; i++) { printf "%s ", $i; if (++n == 1000000) exit } } END { print "" }' \
    "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" \
    "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" \
    "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" \
    "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" \
    "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" \
    "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" \
    "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" \
    "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" "$tmp/test.txt" > "$tmp/long.txt"
awk 'NF <= 6 { s[n++] = $0 } END { for (i = 0; i < 200000; i++) print s[i % n] }' \
    "$tmp/test.txt" > "$tmp/short.txt"
echo "one line of $(wc -w < "$tmp/long.txt") tokens: $(rate "$tmp/long.txt") tokens/s"
echo "$(wc -l < "$tmp/short.txt") sentences of at most 6 tokens ($(wc -w < "$tmp/short.txt") tokens): $(rate "$tmp/short.txt") tokens/s"

# Threads: the same input (EWT test eight times over) on one core and on two
# (--threads 2, cores 0 and 1), median of RUNS runs each; the outputs must
# be the same bytes.
for i in 1 2 3 4 5 6 7 8; do cat "$tmp/test.txt"; done > "$tmp/test8.txt"
n8=$(wc -w < "$tmp/test8.txt")
for th in 1 2; do
    cores=$([ "$th" = 1 ] && echo 0 || echo 0,1)
    : > "$tmp/threads$th"
    i=0
    while [ $i -lt "$RUNS" ]; do
        t0=$(now)
        taskset -c "$cores" "$BIN" -m "$MODEL" --threads "$th" < "$tmp/test8.txt" > "$tmp/out$th.txt"
        t1=$(now)
        echo "$t0 $t1" | awk '{ print $2 - $1 }' >> "$tmp/threads$th"
        i=$((i + 1))
    done
done
cmp -s "$tmp/out1.txt" "$tmp/out2.txt" || { echo "speed.sh: 1 and 2 threads differ" >&2; exit 1; }
s1=$(median < "$tmp/threads1")
s2=$(median < "$tmp/threads2")
echo "$n8 $s1 $s2" | awk '{ printf "threads (%d tokens, median of runs): 1 thread %.0f tokens/s, 2 threads %.0f tokens/s: %.2fx; the same bytes\n", $1, $1 / $2, $1 / $3, $2 / $3 }'

# Every kernel path against the plain one, on EWT dev (gold tokens).
DEV="$EWT_DIR/en_ewt-ud-dev.conllu"
if [ -r "$DEV" ]; then
    paths=$("$BIN" info "$MODEL" | sed -n 's/^kernels: .*runs: *\(.*\))$/\1/p')
    for p in $paths; do
        ATTNTAG_KERNELS=$p "$BIN" -m "$MODEL" -i conllu -f tsv -s all "$DEV" > "$tmp/dev.$p"
    done
    for p in $paths; do
        [ "$p" = plain ] && continue
        paste "$tmp/dev.$p" "$tmp/dev.plain" | awk -F'\t' -v p="$p" '
            NF > 2 { n++; h = NF / 2; same = 1; for (i = 2; i <= h; i++) if ($i != $(h + i)) same = 0; s += same }
            END { printf "kernel path %s against plain on EWT dev: the same tags for %.3f%% of %d tokens\n", p, 100 * s / n, n }'
    done
fi
