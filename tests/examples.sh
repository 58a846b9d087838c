#!/bin/sh
# examples.sh - every command of README.md's "Use" section, run as written
# (with the built attntag first on PATH) in a scratch directory that holds
# the repository's data/ and models/; an example followed by output lines
# must print exactly those lines, and every example must exit with status 0
# and write something. Part of `make check`.
#
# usage: tests/examples.sh [ATTNTAG]      (from the repository root)
set -eu
BIN=${1:-./attntag}
repo=$(pwd)
bindir=$(cd "$(dirname "$BIN")" && pwd)
[ "$(basename "$BIN")" = attntag ] || { echo "examples.sh: $BIN is not named attntag" >&2; exit 2; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
ln -s "$repo/data" "$scratch/data"
ln -s "$repo/models" "$scratch/models"
# a binary in build/ has no models/ beside it: name the bundled model
ATTNTAG_MODEL=$repo/models/en-ewt.safetensors
export ATTNTAG_MODEL

# the indented block after "## Use": commands ("    $ ...") and their output
awk '/^## Use/ { on = 1; next } on && /^## / { exit }
     on && /^    / { print substr($0, 5) } on && /^$/ && seen { exit }
     on && /^    \$ / { seen = 1 }' README.md > "$scratch/block"
[ -s "$scratch/block" ] || { echo "examples.sh: no examples found in README.md" >&2; exit 1; }

ran=0 failed=0
run_one() { # $1: command; $scratch/want: the output README shows (may be empty)
    ran=$((ran + 1))
    # the comment after the command is for the reader
    cmd=$(printf '%s\n' "$1" | sed 's/  *# .*$//')
    if ! (cd "$scratch" && PATH="$bindir:$PATH" sh -c "$cmd") > "$scratch/got" 2> "$scratch/err"; then
        echo "FAIL (exit status): $cmd"; sed 's/^/    /' "$scratch/err"; failed=$((failed + 1)); return
    fi
    if [ -s "$scratch/want" ]; then
        if ! cmp -s "$scratch/want" "$scratch/got"; then
            echo "FAIL (output differs from README.md): $cmd"
            diff "$scratch/want" "$scratch/got" | sed 's/^/    /'
            failed=$((failed + 1))
        fi
    elif [ ! -s "$scratch/got" ] && [ ! -s "$scratch/err" ] &&
         [ -z "$(find "$scratch" -newer "$scratch/block" -type f ! -name got ! -name err ! -name want)" ]; then
        echo "FAIL (wrote nothing): $cmd"; failed=$((failed + 1))
    fi
    touch "$scratch/block"
}

cmd=""
: > "$scratch/want"
while IFS= read -r line; do
    case "$line" in
    '$ '*)
        [ -n "$cmd" ] && run_one "$cmd"
        cmd=${line#\$ }
        : > "$scratch/want" ;;
    *) printf '%s\n' "$line" >> "$scratch/want" ;;
    esac
done < "$scratch/block"
[ -n "$cmd" ] && run_one "$cmd"
echo "examples: $ran README.md examples run, $((ran - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
