#!/usr/bin/python3
"""The one scorer of the benchmark: every tagger's output is scored here, the
same way.

    score.py --gold TEST.conllu --train TRAIN.conllu --pred PRED --tagsets upos,xpos

PRED holds one token per line, `token<TAB>tag[<TAB>tag...]`, a blank line
after each sentence; its tag columns are the tag sets named by --tagsets, in
that order. Its tokens must be the gold words of TEST (CoNLL-U lines with an
integer ID: multiword-token ranges and empty nodes are not words), one for one.

Scores: accuracy over all words and over unknown words, per tag set. A word is
unknown when its lower-cased form (str.lower) is not the lower-cased form of
any word of TRAIN: the same definition for every tagger, whatever its own
vocabulary is. Prints one JSON object.
"""
import argparse
import json
import sys

from corpus import read_conllu

COLUMN = {"upos": 3, "xpos": 4}   # 0-based CoNLL-U columns


def train_vocab(path):
    """Lower-cased forms of the words of a CoNLL-U file."""
    return {cols[1].lower() for s in read_conllu(path) for cols in s}


def read_pred(path, n_tags):
    sents, cur = [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                if cur:
                    sents.append(cur)
                cur = []
                continue
            cols = line.split("\t")
            if len(cols) != 1 + n_tags:
                raise SystemExit("score.py: %s:%d: expected token and %d tag(s), got %r"
                                 % (path, lineno, n_tags, line))
            cur.append(cols)
    if cur:
        sents.append(cur)
    return sents


def score(gold, vocab, pred, tagsets):
    """gold: read_conllu() sentences; pred: read_pred() sentences."""
    if len(gold) != len(pred):
        raise SystemExit("score.py: %d gold sentences, %d predicted" % (len(gold), len(pred)))
    res = {ts: {"correct": 0, "total": 0, "unk_correct": 0, "unk_total": 0} for ts in tagsets}
    for k, (gs, ps) in enumerate(zip(gold, pred)):
        if len(gs) != len(ps):
            raise SystemExit("score.py: sentence %d: %d gold words, %d predicted"
                             % (k + 1, len(gs), len(ps)))
        for g, p in zip(gs, ps):
            if g[1] != p[0]:
                raise SystemExit("score.py: sentence %d: gold word %r, predicted token %r"
                                 % (k + 1, g[1], p[0]))
            unk = g[1].lower() not in vocab
            for t, ts in enumerate(tagsets):
                ok = g[COLUMN[ts]] == p[1 + t]
                r = res[ts]
                r["total"] += 1
                r["correct"] += ok
                if unk:
                    r["unk_total"] += 1
                    r["unk_correct"] += ok
    for r in res.values():
        r["accuracy"] = r["correct"] / r["total"] if r["total"] else None
        r["unk_accuracy"] = r["unk_correct"] / r["unk_total"] if r["unk_total"] else None
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gold", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--pred", required=True)
    ap.add_argument("--tagsets", default="upos,xpos")
    a = ap.parse_args()
    tagsets = a.tagsets.split(",")
    for ts in tagsets:
        if ts not in COLUMN:
            raise SystemExit("score.py: unknown tag set %r (upos, xpos)" % ts)
    res = score(read_conllu(a.gold), train_vocab(a.train), read_pred(a.pred, len(tagsets)),
                tagsets)
    json.dump(res, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
