#!/bin/sh
# valgrind.sh - attntag's main commands under valgrind's memcheck: tagging with
# the bundled model (every output format, raw text), eval, convert (JSON,
# safetensors, 16-bit, 8-bit) and a tiny training run. Any memory error or
# definite leak fails (exit 1). Run by .ci/run after `make`; valgrind runs
# the AVX2 or plain kernels (it hides AVX-512 from the program).
#
# usage: tests/valgrind.sh [BINARY]      (default ./attntag)
set -eu
BIN=${1:-./attntag}
FIX=tests/fixtures
MODEL=models/en-ewt.safetensors
command -v valgrind > /dev/null || { echo "valgrind.sh: valgrind not installed" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
runs=0
vg() {
    runs=$((runs + 1))
    if ! valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite "$BIN" "$@" > "$tmp/out" 2> "$tmp/err"; then
        echo "valgrind.sh: FAIL: attntag $*" >&2
        cat "$tmp/err" >&2
        exit 1
    fi
}
vgin() { input=$1; shift; runs=$((runs + 1))
    if ! valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite "$BIN" "$@" < "$input" > "$tmp/out" 2> "$tmp/err"; then
        echo "valgrind.sh: FAIL: attntag $* < $input" >&2
        cat "$tmp/err" >&2
        exit 1
    fi
}
printf 'The cat sat on the mat .\nAttention is all you need .\n' > "$tmp/lines.txt"
printf "Dr. Smith didn't go. He said \"I'm done\" -- then left.\n\n我们在北京。\n" > "$tmp/raw.txt"
for fmt in wordtag tsv conllu json; do
    vgin "$tmp/lines.txt" -m "$MODEL" -f "$fmt"
done
vgin "$tmp/lines.txt" -m "$MODEL" -f json --probs --line-buffered
vgin "$tmp/raw.txt" -m "$MODEL" --tokenize -f conllu
vgin "$FIX/sample.conllu" -m "$MODEL" -i conllu
vg train --train "$FIX/tiny_train.conllu" --dev "$FIX/tiny_dev.conllu" --dim 16 --heads 2 \
    --ffn 32 --char-buckets 256 --char-dim 8 --max-len 16 --min-count 1 --epochs 1 \
    --batch-tokens 400 -q -o "$tmp/tiny.safetensors"
vg eval -m "$tmp/tiny.safetensors" "$FIX/tiny_dev.conllu"
vg eval -m "$tmp/tiny.safetensors" --json --confusion "$tmp/conf.csv" "$FIX/tiny_dev.conllu"
vg convert "$FIX/ref_pre.json" "$tmp/ref.safetensors"
vg convert --f16 "$tmp/ref.safetensors" "$tmp/ref.json"
vg convert --int8 "$tmp/ref.safetensors" "$tmp/ref8.safetensors"
vgin "$tmp/lines.txt" -m "$tmp/ref8.safetensors"
vg info "$MODEL"
echo "valgrind: $runs runs, no errors, no definite leaks"
