#!/bin/sh
# wordnet-lexicon.sh - a part-of-speech lexicon from WordNet (Debian package
# wordnet-base), for `attntag train --lexicon`: one "word<TAB>bits" line per
# word, bits 1 noun, 2 verb, 4 adjective, 8 adverb. Listed are WordNet's
# one-word lemmas, the irregular forms of its .exc lists, and the regular
# inflections of its nouns (-s) and verbs (-s, -ed, -ing), so that words a
# treebank never saw still say what they can be.
#
# usage: tools/wordnet-lexicon.sh [WORDNET_DIR] > lexicon.tsv
set -eu
WN=${1:-/usr/share/wordnet}
for f in index.noun index.verb index.adj index.adv noun.exc verb.exc adj.exc adv.exc; do
    [ -r "$WN/$f" ] || { echo "wordnet-lexicon.sh: $WN/$f not found (apt-get install wordnet-base)" >&2; exit 2; }
done
LC_ALL=C awk '
BEGIN { word = "^[a-z][a-z.\047-]*$" }        # one lower-case word (\047: apostrophe)
function add(w, b) { if (w ~ word && int(bits[w] / b) % 2 == 0) bits[w] += b }
function plural(w) {   # -s, -es after sibilants, -ies after a consonant + y
    if (w ~ /(s|x|z|ch|sh)$/) return w "es"
    if (w ~ /[^aeiou]y$/) return substr(w, 1, length(w) - 1) "ies"
    return w "s"
}
function past(w) {
    if (w ~ /e$/) return w "d"
    if (w ~ /[^aeiou]y$/) return substr(w, 1, length(w) - 1) "ied"
    return w "ed"
}
function gerund(w) {
    if (w ~ /[^e]e$/ && w != "be") return substr(w, 1, length(w) - 1) "ing"
    return w "ing"
}
FNR == 1 { pos = FILENAME; sub(/.*\//, "", pos) }
/^  / { next }                                   # the licence at the top of index files
pos == "index.noun" { add($1, 1); add(plural($1), 1) }
pos == "index.verb" { add($1, 2); add(plural($1), 2); add(past($1), 2); add(gerund($1), 2) }
pos == "index.adj"  { add($1, 4) }
pos == "index.adv"  { add($1, 8) }
pos == "noun.exc" { add($1, 1) }
pos == "verb.exc" { add($1, 2) }
pos == "adj.exc"  { add($1, 4) }
pos == "adv.exc"  { add($1, 8) }
END { for (w in bits) printf "%s\t%d\n", w, bits[w] }
' "$WN/index.noun" "$WN/index.verb" "$WN/index.adj" "$WN/index.adv" \
  "$WN/noun.exc" "$WN/verb.exc" "$WN/adj.exc" "$WN/adv.exc" | LC_ALL=C sort
