#!/bin/sh
# run.sh - the lecture's experiments (`make experiments`): the figures A-D of
# the notes on self-attention, and its claim about CNNs against global
# self-attention, trained and scored on UD English EWT with gold tokens, each
# at 5%, 10%, 25%, 50% and 100% of EWT train (the same dev and test).
#
# Architectures (every one a `attntag train --arch` preset, width 128, FC 256,
# character n-grams, no lexicon):
#   A     fc: one block, each token through an FC layer alone
#   B1    window: one block, an FC over the token and 1 neighbour either side
#   B2    window: the same over 2 neighbours either side
#   C     attn: one block of global self-attention, 4 heads
#   D2    stacked: 2 blocks of global self-attention, 4 heads
#   D4    stacked: 4 blocks of global self-attention, 4 heads
#   D2h1  D2 with one head
#   D2w1, D2w2, D2w3   D2 with attention restricted to +-1, 2, 3 tokens in
#         every block (a CNN: self-attention with a hand-set receptive field)
#   D2s2  D2 again with another seed: how much a seed alone moves a score
# Training is bounded: 15 epochs at 100% of train, more for less data (20, 30,
# 40, 60 at 50% to 5%, so that small sets still get steps), patience 5, seed 1
# (the default), 2 threads. A training subset is a fixed, evenly spread sample of EWT
# train's sentences, each smaller one inside the larger ones.
#
# Resumable: a finished run leaves its result in $OUT/results/ and is not run
# again; a run that was stopped continues from its checkpoint. Then
# experiments/report.sh writes docs/experiments.md and its pictures.
#
# usage: experiments/run.sh           (from anywhere; after make, make data)
# Environment: EWT_DIR (data/ud-en-ewt), EXPERIMENTS_DIR (build/experiments),
#   EXPERIMENTS_ARCHS, EXPERIMENTS_SIZES (all of the above), ATTNTAG_BIN
#   (./attntag).
set -eu
here=$(pwd)
abs() { case $1 in /*) echo "$1" ;; *) echo "$here/$1" ;; esac; } # paths given from here
EWT_DIR=$(abs "${EWT_DIR:-$(dirname "$0")/../data/ud-en-ewt}")
OUT=$(abs "${EXPERIMENTS_DIR:-$(dirname "$0")/../build/experiments}")
BIN=$(abs "${ATTNTAG_BIN:-$(dirname "$0")/../attntag}")
ARCHS=${EXPERIMENTS_ARCHS:-"A B1 B2 C D2 D4 D2h1 D2w1 D2w2 D2w3 D2s2"}
SIZES=${EXPERIMENTS_SIZES:-"5 10 25 50 100"}

say() { echo "[experiments $(date +%H:%M:%S)] $*" >&2; }

for f in train dev test; do
    [ -r "$EWT_DIR/en_ewt-ud-$f.conllu" ] || {
        echo "experiments/run.sh: $EWT_DIR/en_ewt-ud-$f.conllu not found (make data, or set" \
             "EWT_DIR)" >&2
        exit 2
    }
done
[ -x "$BIN" ] || { echo "experiments/run.sh: $BIN not found: run make first" >&2; exit 2; }
command -v jq > /dev/null || { echo "experiments/run.sh: jq is needed (tools/install-deps)" >&2; exit 2; }

settings() {
    case $1 in
    A) echo "--arch fc --layers 1" ;;
    B1) echo "--arch window --layers 1 --window 1" ;;
    B2) echo "--arch window --layers 1 --window 2" ;;
    C) echo "--arch attn" ;;
    D2) echo "--arch stacked --layers 2 --window 0" ;;
    D4) echo "--arch stacked --layers 4 --window 0" ;;
    D2h1) echo "--arch stacked --layers 2 --window 0 --heads 1" ;;
    D2w1) echo "--arch stacked --layers 2 --window 1" ;;
    D2w2) echo "--arch stacked --layers 2 --window 2" ;;
    D2w3) echo "--arch stacked --layers 2 --window 3" ;;
    D2s2) echo "--arch stacked --layers 2 --window 0 --seed 2" ;;
    *) echo "experiments/run.sh: no architecture $1" >&2; exit 2 ;;
    esac
}
epochs() {
    case $1 in 5) echo 60 ;; 10) echo 40 ;; 25) echo 30 ;; 50) echo 20 ;; 100) echo 15 ;;
    *) echo "experiments/run.sh: no training size $1%" >&2; exit 2 ;;
    esac
}

# every name known before anything runs (a typo must not train a default model)
for a in $ARCHS; do settings "$a" > /dev/null || exit 2; done
for p in $SIZES; do epochs "$p" > /dev/null || exit 2; done

mkdir -p "$OUT/data" "$OUT/models" "$OUT/results"
# subsets: sentence number s is kept at P% when frac(s * 0.6180339887) < P/100
# (a Weyl sequence: evenly spread over the corpus, nested by construction)
for p in $SIZES; do
    sub=$OUT/data/train-$p.conllu
    [ -s "$sub" ] && continue
    awk -v p="$p" 'BEGIN { RS = ""; ORS = "\n\n" }
        { x = NR * 0.6180339887498949; if (x - int(x) < p / 100) print }' \
        "$EWT_DIR/en_ewt-ud-train.conllu" > "$sub.tmp"
    mv "$sub.tmp" "$sub"
    say "train-$p: $(grep -c '^# text = ' "$sub") sentences," \
        "$(grep -c '^[0-9][0-9]*	' "$sub") words"
done

# score MODEL GOLD: "UPOS-accuracy<TAB>unknown-word-accuracy" (as fractions),
# or exit: a result is written only from two numbers
score() {
    "$BIN" eval -m "$1" --tagsets upos:4 --json "$2" > "$OUT/eval.json" || {
        echo "experiments/run.sh: attntag eval failed on $1" >&2
        exit 2
    }
    r=$(jq -r '.tagsets.upos | "\(.accuracy)\t\(.unknown_accuracy)"' "$OUT/eval.json")
    case $r in
    [0-9]*"	"[0-9]*) echo "$r" ;;
    *) echo "experiments/run.sh: no scores for $1 in its evaluation" >&2; exit 2 ;;
    esac
}

for a in $ARCHS; do
    for p in $SIZES; do
        name=$a-$p
        res=$OUT/results/$name.tsv
        [ -s "$res" ] && continue
        model=$OUT/models/$name.safetensors
        t0=$(date +%s)
        resumed=no
        if [ -s "$model.ckpt" ]; then
            say "$name: continuing from its checkpoint"
            resumed=yes
            "$BIN" train --resume "$model.ckpt" -o "$model" --log "$OUT/models/$name.jsonl" -q
        elif [ -s "$model" ]; then # trained, stopped before it was scored
            resumed=yes
        else
            say "$name: training ($(settings "$a"), $(epochs "$p") epochs at most)"
            # shellcheck disable=SC2046
            "$BIN" train --train "$OUT/data/train-$p.conllu" --dev "$EWT_DIR/en_ewt-ud-dev.conllu" \
                $(settings "$a") --dim 128 --ffn 256 --epochs "$(epochs "$p")" --patience 5 \
                --threads 2 --log "$OUT/models/$name.jsonl" -o "$model" -q
        fi
        seconds=$(($(date +%s) - t0))
        best=$(jq -s 'map(select(.best)) | .[-1].epoch' "$OUT/models/$name.jsonl")
        ran=$(jq -s 'length' "$OUT/models/$name.jsonl")
        dev=$(score "$model" "$EWT_DIR/en_ewt-ud-dev.conllu")
        test=$(score "$model" "$EWT_DIR/en_ewt-ud-test.conllu")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$a" "$p" "$dev" "$test" \
            "$seconds" "$best" "$ran" "$resumed" > "$res.tmp"
        mv "$res.tmp" "$res"
        say "$name: $(cut -f3-6 "$res") in ${seconds}s"
    done
done
say "done: results in $OUT/results (experiments/report.sh writes docs/experiments.md)"
