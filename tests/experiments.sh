#!/bin/sh
# experiments.sh - `make experiments` in miniature: experiments/run.sh and
# experiments/report.sh on the tiny corpus of tests/fixtures (as train, dev
# and test), four architectures at two sizes, in a scratch directory: every
# run leaves its result, a second run trains nothing, and the report holds
# each model's scores, the plots and the heat maps. Part of `make check`.
#
# usage: tests/experiments.sh [ATTNTAG]      (from the repository root)
set -eu
BIN=$(cd "$(dirname "${1:-./attntag}")" && pwd)/$(basename "${1:-./attntag}")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "FAIL experiments: $*"; exit 1; }
command -v gnuplot > /dev/null || {
    echo "experiments: skipped: gnuplot is not installed (apt-get install gnuplot-nox)"
    exit 0
}
mkdir -p "$scratch/ewt"
cp tests/fixtures/tiny_train.conllu "$scratch/ewt/en_ewt-ud-train.conllu"
cp tests/fixtures/tiny_dev.conllu "$scratch/ewt/en_ewt-ud-dev.conllu"
cp tests/fixtures/tiny_dev.conllu "$scratch/ewt/en_ewt-ud-test.conllu"
export ATTNTAG_BIN="$BIN" EWT_DIR="$scratch/ewt" EXPERIMENTS_DIR="$scratch/out" \
    EXPERIMENTS_DOCS="$scratch/docs" EXPERIMENTS_ARCHS="A B1 D2 D2w1" EXPERIMENTS_SIZES="50 100"
# a name it does not know stops it before anything is trained
if EXPERIMENTS_ARCHS="A D2W1" experiments/run.sh 2> "$scratch/log0"; then fail "ran an unknown architecture"; fi
[ ! -d "$scratch/out/results" ] || [ -z "$(ls "$scratch/out/results")" ] || fail "trained before refusing D2W1"
experiments/run.sh 2> "$scratch/log1" || { cat "$scratch/log1"; fail "run.sh failed"; }
[ "$(ls "$scratch/out/results" | wc -l)" -eq 8 ] || fail "$(ls "$scratch/out/results" | wc -l) results, expected 8"
experiments/run.sh 2> "$scratch/log2" || fail "second run.sh failed"
! grep -q "training" "$scratch/log2" || fail "the second run trained again: $(cat "$scratch/log2")"
# each result: the model's test accuracy, as attntag eval gives it
acc=$("$BIN" eval -m "$scratch/out/models/D2-100.safetensors" --tagsets upos:4 --json \
    "$EWT_DIR/en_ewt-ud-test.conllu" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tagsets"]["upos"]["accuracy"])')
[ "$(cut -f5 "$scratch/out/results/D2-100.tsv")" = "$acc" ] || fail "D2-100's test accuracy is not eval's $acc"
# an evaluation that fails leaves no result behind (a wrapper whose eval fails)
printf '#!/bin/sh\ncase $1 in eval) exit 2 ;; esac\nexec "%s" "$@"\n' "$BIN" > "$scratch/attntag"
chmod +x "$scratch/attntag"
rm "$scratch/out/results/A-50.tsv"
if ATTNTAG_BIN=$scratch/attntag experiments/run.sh 2> "$scratch/log4"; then fail "a failed eval passed"; fi
[ ! -e "$scratch/out/results/A-50.tsv" ] || fail "a failed eval left a result: $(cat "$scratch/out/results/A-50.tsv")"
experiments/run.sh 2> "$scratch/log5" || fail "scoring again failed"
! grep -q "training" "$scratch/log5" || fail "a trained model was trained again"
experiments/report.sh 2> "$scratch/log3" || { cat "$scratch/log3"; fail "report.sh failed"; }
doc=$scratch/docs/experiments.md
row=$(python3 -c "print('| D2 | %.2f |' % (100 * float('$(cut -f5 "$scratch/out/results/D2-50.tsv")')))")
grep -qF "$row" "$doc" || fail "no row \"$row\" in the report"
for f in experiments-figures.svg experiments-windows.svg experiments-A.svg experiments-D2.svg; do
    grep -q "<svg" "$scratch/docs/$f" || fail "$f is not an SVG picture"
done
grep -q "Does stacking help" "$doc" && grep -q "windowed" "$doc" || fail "the answers are missing"
echo "experiments: 8 runs, resumed without training, report with tables, plots and heat maps"
