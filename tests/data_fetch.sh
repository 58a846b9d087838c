#!/bin/sh
# data_fetch.sh - data/fetch (`make data`) on treebanks made here from
# data/sample.conllu, in scratch directories: found under UD's name and
# linked, found again in place, a broken file refused, a missing file
# refused, nothing found said plainly; downloaded from a mirror (UD_URL, a
# file:// URL: no network), a missing release and a broken archive refused
# with nothing left behind. Part of `make check`.
#
# usage: tests/data_fetch.sh [ATTNTAG]      (from the repository root)
set -eu
BIN=$(cd "$(dirname "${1:-./attntag}")" && pwd)/$(basename "${1:-./attntag}")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export ATTNTAG_BIN="$BIN" UD_SHARED="$scratch/none"
unset UD_DIR UD_DOWNLOAD
passed=0 failed=0
check() { # NAME EXPECTED-STATUS MESSAGE-FRAGMENT -- command...
    name=$1 want=$2 frag=$3
    shift 4
    set +e
    "$@" > "$scratch/out" 2>&1
    got=$?
    set -e
    if [ "$got" -eq "$want" ] && grep -q -- "$frag" "$scratch/out"; then
        passed=$((passed + 1))
    else
        echo "FAIL $name: status $got (want $want), output:"; sed 's/^/    /' "$scratch/out"
        failed=$((failed + 1))
    fi
}

mkdir -p "$scratch/ud/UD_English-EWT" "$scratch/d1" "$scratch/d2" "$scratch/d3" "$scratch/d4"
for part in train dev test; do
    cp data/sample.conllu "$scratch/ud/UD_English-EWT/en_ewt-ud-$part.conllu"
done

ATTNTAG_DATA=$scratch/d1 check found-and-linked 0 "linked" -- data/fetch "$scratch/ud"
[ -L "$scratch/d1/ud-en-ewt" ] && [ -r "$scratch/d1/ud-en-ewt/en_ewt-ud-test.conllu" ] ||
    { echo "FAIL found-and-linked: no link"; failed=$((failed + 1)); }
ATTNTAG_DATA=$scratch/d1 check counted 0 "en_ewt-ud-dev.conllu: 3 sentences, 29 words" -- \
    data/fetch "$scratch/ud"
ATTNTAG_DATA=$scratch/d1 check in-place 0 "ud-en-ewt: in place" -- data/fetch
ATTNTAG_DATA=$scratch/d2 UD_DIR=$scratch/ud check from-UD_DIR 0 "linked" -- data/fetch

# a word line out of order in dev: refused with the file named
mkdir -p "$scratch/bad/ud-en-ewt"
cp "$scratch/ud/UD_English-EWT/"*.conllu "$scratch/bad/ud-en-ewt/"
sed -i 's/^5\tcold/9\tcold/' "$scratch/bad/ud-en-ewt/en_ewt-ud-dev.conllu"
ATTNTAG_DATA=$scratch/d3 check broken-file 2 "en_ewt-ud-dev.conllu is not CoNLL-U attntag can read" \
    -- data/fetch "$scratch/bad"
[ ! -e "$scratch/d3/ud-en-ewt" ] || { echo "FAIL broken-file: linked anyway"; failed=$((failed + 1)); }

rm "$scratch/bad/ud-en-ewt/en_ewt-ud-dev.conllu"
ATTNTAG_DATA=$scratch/d3 check missing-file 2 "en_ewt-ud-dev.conllu is missing" -- \
    data/fetch "$scratch/bad"

ATTNTAG_DATA=$scratch/d4 check not-found 2 "ud-en-ewt: not found in $scratch/none" -- data/fetch

# downloads, from a mirror in the scratch directory laid out as GitHub's
# release archives are (REPO/archive/refs/tags/RELEASE.tar.gz, one top directory)
tags=$scratch/mirror/UD_English-EWT/archive/refs/tags
mkdir -p "$tags" "$scratch/arch/UD_English-EWT-r2.14" "$scratch/d5" "$scratch/d6"
cp "$scratch/ud/UD_English-EWT/"*.conllu "$scratch/arch/UD_English-EWT-r2.14/"
tar -czf "$tags/r2.14.tar.gz" -C "$scratch/arch" UD_English-EWT-r2.14
export UD_URL="file://$scratch/mirror"
ATTNTAG_DATA=$scratch/d5 UD_DOWNLOAD=1 check downloaded 0 "ud-en-ewt: downloaded into" -- data/fetch
[ -d "$scratch/d5/ud-en-ewt" ] && [ ! -L "$scratch/d5/ud-en-ewt" ] &&
    cmp -s data/sample.conllu "$scratch/d5/ud-en-ewt/en_ewt-ud-train.conllu" ||
    { echo "FAIL downloaded: data/ud-en-ewt does not hold the archive's files"; failed=$((failed + 1)); }
ATTNTAG_DATA=$scratch/d6 UD_DOWNLOAD=1 UD_RELEASE=r9.99 check no-such-release 2 \
    "the download failed" -- data/fetch
sed -i 's/^5\tcold/9\tcold/' "$scratch/arch/UD_English-EWT-r2.14/en_ewt-ud-dev.conllu"
tar -czf "$tags/r2.14.tar.gz" -C "$scratch/arch" UD_English-EWT-r2.14
ATTNTAG_DATA=$scratch/d6 UD_DOWNLOAD=1 check broken-download 2 \
    "en_ewt-ud-dev.conllu is not CoNLL-U attntag can read" -- data/fetch
[ -z "$(ls -A "$scratch/d6")" ] ||
    { echo "FAIL broken-download: left $(ls -A "$scratch/d6")"; failed=$((failed + 1)); }
echo "data/fetch: $((passed + failed)) cases, $passed passed, $failed failed"
[ "$failed" -eq 0 ]
