#!/bin/sh
# speed.sh - how fast attntag tags, on each kernel path the processor runs
# (the list `attntag info` prints; ATTNTAG_KERNELS=PATH forces one). For each
# path, on one core (taskset -c 0, --threads 1):
#
#   - start-up: the median wall time of 15 runs of `echo "Hello world ." |
#     attntag` (process start, loading the model, tagging, exit);
#   - tokens/s: EWT test (gold tokens, one sentence per line), median of RUNS
#     runs, the median start-up subtracted from the median wall time;
#   - the model's multiply-adds per token against the core's measured peak
#     for the path's own instruction mix (bench/peak.c: a mix is named
#     KIND-INSTRUCTIONS-PATH, e.g. int8-maddubs-avx2);
#   - linear cost: the test text as one line of a million tokens, and as
#     200,000 sentences of four tokens (EWT test's four-token sentences over
#     and over), each tagged whole in one run, and whether each is tagged at
#     no less than the path's tokens/s;
#   - threads: the test text (repeated to take about a second on the path)
#     with --threads 1 on core 0 and --threads 2 on cores 0 and 1, one run
#     each: their outputs must be the same bytes;
#   - and, on EWT dev with gold tokens, how many tokens get the plain path's
#     tags on every tag set (target: at least 99.99%).
#
# The long inputs are tagged in full on every path, since a smaller sample
# cannot show that the cost stays linear: about a minute and a half on the
# plain path here (some 25,000 tokens/s), half a minute on the vector paths.
# Before each long run, a progress line on standard error says how long it
# should take; results go to standard output.
#
# usage: bench/speed.sh [MODEL]     (run from the repository root after `make`)
# Environment:
#   ATTNTAG_BIN   the binary (./attntag)
#   EWT_DIR       the UD English EWT treebank (data/ud-en-ewt)
#   RUNS          tagging runs per path for tokens/s (5)
#   PATHS         the kernel paths to measure, e.g. "avx2 avx512" (default:
#                 every path `attntag info` says this processor runs); the
#                 plain path always tags EWT dev, as the reference
set -eu
BIN=${ATTNTAG_BIN:-./attntag}
MODEL=${1:-models/en-ewt.safetensors}
EWT_DIR=${EWT_DIR:-data/ud-en-ewt}
TEST="$EWT_DIR/en_ewt-ud-test.conllu"
DEV="$EWT_DIR/en_ewt-ud-dev.conllu"
RUNS=${RUNS:-5}
T0=$(date +%s)

die() { echo "speed.sh: $*" >&2; exit 2; }
progress() {
    el=$(( $(date +%s) - T0 ))
    printf '[speed %d:%02d] %s\n' $((el / 60)) $((el % 60)) "$*" >&2
}

case $RUNS in
    '' | *[!0-9]* | 0) die "RUNS must be a whole number of at least 1, not '$RUNS'" ;;
esac
[ -x "$BIN" ] || die "$BIN not found or not executable (run make, or set ATTNTAG_BIN)"
[ -r "$MODEL" ] || die "model $MODEL not found"
for f in "$TEST" "$DEV"; do
    [ -r "$f" ] || die "$f not found (make data, or set EWT_DIR to the UD English EWT directory)"
done
for c in taskset python3 cc awk; do
    command -v "$c" > /dev/null || die "$c is needed and was not found"
done

# The paths this processor runs, from attntag itself:
#   kernels: avx512 (this processor runs: avx512 avx2 plain)
info=$("$BIN" info "$MODEL") || die "$BIN info $MODEL failed"
runs=$(echo "$info" | sed -n 's/^kernels: .*(this processor runs: *\(.*\))$/\1/p')
[ -n "$runs" ] || die "$BIN info printed no line 'kernels: PATH (this processor runs: PATHS)'"
PATHS=${PATHS:-$runs}
for p in $PATHS; do
    case " $runs " in *" $p "*) ;; *) die "PATHS: this processor does not run '$p' (it runs: $runs)" ;; esac
done
case " $runs " in *" plain "*) ;; *) die "attntag does not list a plain path (it lists: $runs)" ;; esac

# attntag falls back to its own choice for a name it does not take: make
# sure each forced path is the one that runs
for p in $PATHS plain; do
    got=$(ATTNTAG_KERNELS=$p "$BIN" info "$MODEL" | sed -n 's/^kernels: \([^ ]*\).*/\1/p')
    [ "$got" = "$p" ] || die "ATTNTAG_KERNELS=$p: attntag runs '$got' instead"
done

cores=0
[ "$(nproc)" -ge 2 ] && cores=0,1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Gold tokens, one sentence per line: word lines have an integer ID.
awk -F'\t' '/^[0-9]+\t/ { printf "%s%s", sep, $2; sep = " " }
            /^$/ { if (sep != "") print ""; sep = "" }' "$TEST" > "$tmp/test.txt"
tokens=$(wc -w < "$tmp/test.txt")
sentences=$(wc -l < "$tmp/test.txt")
[ "$tokens" -gt 0 ] || die "no tokens read from $TEST"

# One line of a million tokens: the test text over and over.
awk -v n=1000000 '{ w[NR] = $0 } END {
        for (;;) for (i = 1; i <= NR; i++) { k = split(w[i], t, " ")
            for (j = 1; j <= k; j++) { printf "%s ", t[j]; if (++c == n) { print ""; exit } } } }' \
    "$tmp/test.txt" > "$tmp/long.txt"
# 200,000 sentences of four tokens.
awk 'NF == 4 { s[n++] = $0 } END { if (!n) exit 1; for (i = 0; i < 200000; i++) print s[i % n] }' \
    "$tmp/test.txt" > "$tmp/short.txt" || die "$TEST has no sentence of four tokens"
long_n=$(wc -w < "$tmp/long.txt")
short_n=$(wc -w < "$tmp/short.txt")
short_s=$(wc -l < "$tmp/short.txt")

now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# run P FILE OUT [THREADS CORES]: tag FILE on path P, write OUT; prints the
# wall time in seconds
run() {
    t0=$(now)
    ATTNTAG_KERNELS=$1 taskset -c "${5:-0}" "$BIN" -m "$MODEL" --threads "${4:-1}" < "$2" > "$3" ||
        die "attntag failed on path $1 (input $2)"
    t1=$(now)
    [ "$(wc -w < "$3")" -eq "$(wc -w < "$2")" ] || die "path $1: tokens lost on $2"
    echo "$t0 $t1" | awk '{ printf "%.4f", $2 - $1 }'
}

echo "attntag speed, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "binary: $($BIN --version); model: $MODEL ($(wc -c < "$MODEL") bytes)"
echo "$info" | grep '^kernels:'
echo "input: $TEST: $sentences sentences, $tokens tokens; paths measured: $PATHS"
echo "load average at the start (other work shares the cores): $(cut -d' ' -f1-3 /proc/loadavg)"

# The arithmetic: the matrix products' multiply-adds per token (blocks and
# classifiers, in 8-bit integers for an int8 model; the n-gram projection in
# floats; attention's scores and sums depend on the sentence length and are
# left out), against the core's peak for the path's mix.
progress "measuring the core's peaks (bench/peak.c)"
cc -O2 -o "$tmp/peak" bench/peak.c || die "bench/peak.c does not compile"
taskset -c 0 "$tmp/peak" > "$tmp/peak.txt" || die "bench/peak.c failed"
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
print(blocks, other, "int8" if c.get("int8") else "fp32")
PY
) || die "could not read the model's configuration from $MODEL"
# shellcheck disable=SC2086
set -- $macs
blocks=$1 floats=$2 kind=$3
if [ -s "$tmp/peak.txt" ]; then
    echo "peak of core 0 (bench/peak.c, giga multiply-adds/s): $(tr '\n' ' ' < "$tmp/peak.txt")"
else
    echo "peak of core 0: bench/peak.c measures no instruction mix on this processor"
fi
echo "multiply-adds per token: $blocks in the blocks and classifiers ($kind products) + $floats in floats"

# the reference: EWT dev on the plain path
progress "EWT dev on the plain path (the reference)"
ATTNTAG_KERNELS=plain "$BIN" -m "$MODEL" -i conllu -f tsv -s all "$DEV" > "$tmp/dev.plain" ||
    die "attntag failed on $DEV"

for p in $PATHS; do
    echo
    echo "== $p path (ATTNTAG_KERNELS=$p)"

    progress "$p: start-up, 15 runs"
    # timed from Python, pinned to core 0 as taskset would, so that the
    # figure holds attntag alone and not the starting of date or taskset
    printf 'Hello world .\n' > "$tmp/hello.txt"
    start=$(ATTNTAG_KERNELS=$p python3 - "$BIN" "$MODEL" "$tmp/hello.txt" <<'PY'
import os, statistics, subprocess, sys, time
os.sched_setaffinity(0, {0})
walls = []
for _ in range(15):
    with open(sys.argv[3], "rb") as f:
        t0 = time.perf_counter()
        subprocess.run([sys.argv[1], "-m", sys.argv[2], "--threads", "1"], stdin=f,
                       stdout=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - t0)
print("%.6f" % statistics.median(walls))
PY
) || die "attntag failed on path $p"

    : > "$tmp/tagging"
    i=0
    while [ $i -lt "$RUNS" ]; do
        progress "$p: EWT test, run $((i + 1)) of $RUNS"
        run "$p" "$tmp/test.txt" "$tmp/out.txt" >> "$tmp/tagging"
        echo >> "$tmp/tagging"
        i=$((i + 1))
    done
    secs=$(median < "$tmp/tagging")
    # a run barely longer than start-up would make the difference noise: then
    # the rate keeps start-up in, and says so
    rate=$(echo "$tokens $secs $start" | awk '{ printf "%.0f", ($2 - $3 > $2 / 4) ? $1 / ($2 - $3) : $1 / $2 }')
    echo "$start $secs $tokens $RUNS $rate" | awk '{
        printf "start-up (median of 15): %.1f ms\n", 1000 * $1
        printf "tagging EWT test, one core (median of %d): %.3f s; %.0f tokens/s with start-up, %s\n", $4, $2, $3 / $2,
               ($2 - $1 > $2 / 4) ? sprintf("%.0f tokens/s without (the path'\''s tokens/s below)", $5) : "start-up is most of it: the rate below keeps it in" }'

    mix=$(awk -v k="$kind" -v p="$p" 'index($1, k "-") == 1 && substr($1, length($1) - length(p)) == "-" p { print $1, $2; exit }' "$tmp/peak.txt")
    if [ -n "$mix" ]; then
        echo "$blocks $rate $mix" | awk '{ g = $2 * $1 / 1e9
            printf "the blocks at %.0f tokens/s: %.2f G multiply-adds/s, %.1f%% of the %s peak (%.1f G/s)\n", $2, g, 100 * g / $4, $3, $4 }'
    else
        echo "fraction of peak: no $kind mix for the $p path in bench/peak.c's output"
    fi

    # linear cost
    for what in long short; do
        if [ $what = long ]; then n=$long_n; desc="one line of $long_n tokens"
        else n=$short_n; desc="$short_s sentences of four tokens ($short_n tokens)"; fi
        progress "$p: $desc, about $(echo "$n $rate" | awk '{ s = $1 / $2; if (s < 120) printf "%.0f s", s; else printf "%.1f min", s / 60 }')"
        s=$(run "$p" "$tmp/$what.txt" "$tmp/$what.out")
        echo "$n $s $rate" | awk -v d="$desc" '{ r = $1 / $2
            printf "%s: %.1f s, %.0f tokens/s, %.2fx the path'\''s tokens/s: %s\n", d, $2, r, r / $3,
                   (r >= $3) ? "at least its rate" : "BELOW its rate" }'
    done

    # threads: about a second of tagging on this path
    reps=$(echo "$rate $tokens" | awk '{ r = int($1 / $2 + 0.5); print (r < 1) ? 1 : ((r > 8) ? 8 : r) }')
    : > "$tmp/threads.txt"
    i=0
    while [ $i -lt "$reps" ]; do cat "$tmp/test.txt" >> "$tmp/threads.txt"; i=$((i + 1)); done
    progress "$p: --threads 1 and --threads 2 on EWT test x$reps"
    s1=$(run "$p" "$tmp/threads.txt" "$tmp/out1.txt" 1 0)
    s2=$(run "$p" "$tmp/threads.txt" "$tmp/out2.txt" 2 "$cores")
    same=$(cmp -s "$tmp/out1.txt" "$tmp/out2.txt" && echo "the same bytes" || echo "DIFFERENT output")
    echo "$((tokens * reps)) $s1 $s2 $cores" | awk -v same="$same" '{
        printf "threads (EWT test x%d, %d tokens, one run each): --threads 1 %.0f tokens/s, --threads 2 on cores %s %.0f tokens/s (%.2fx); %s\n",
               $1 / '"$tokens"', $1, $1 / $2, $4, $1 / $3, $2 / $3, same }'

    # the same tags as the plain path, on EWT dev
    if [ "$p" != plain ]; then
        progress "$p: EWT dev against the plain path"
        ATTNTAG_KERNELS=$p "$BIN" -m "$MODEL" -i conllu -f tsv -s all "$DEV" > "$tmp/dev.$p" ||
            die "attntag failed on $DEV (path $p)"
        paste "$tmp/dev.$p" "$tmp/dev.plain" | awk -F'\t' -v p="$p" '
            NF > 2 { n++; h = NF / 2; same = 1; for (i = 2; i <= h; i++) if ($i != $(h + i)) same = 0; s += same }
            END { a = 100 * s / n
                  printf "EWT dev against the plain path: the same tags for %d of %d tokens (%.3f%%; target 99.99%%: %s)\n",
                         s, n, a, (s >= 0.9999 * n) ? "met" : "NOT met" }'
    fi
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
progress "done"
