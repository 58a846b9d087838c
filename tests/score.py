#!/usr/bin/env python3
"""An independent scorer for attntag eval's figures: reads a gold CoNLL-U file
and a prediction file (CoNLL-U, or token<TAB>tag... lines with a blank line
after each sentence), and prints JSON: per tag set the token accuracy, the
sentence accuracy and per-tag precision/recall/F1. With --vocab FILE (one
word per line, already normalised) it also splits accuracy into known and
unknown words, normalising tokens with NFKC and case folding.

usage: score.py GOLD PRED TAGSET:COLUMN [TAGSET:COLUMN ...] [--vocab FILE]"""
import json
import sys
import unicodedata


def sentences(path):
    sent = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if sent:
                    yield sent
                sent = []
            elif not line.startswith("#"):
                cols = line.split("\t")
                if len(cols) == 10 and not cols[0].isdigit():
                    continue  # multiword ranges and empty nodes
                sent.append(cols)
    if sent:
        yield sent


def main(argv):
    vocab = None
    if "--vocab" in argv:
        i = argv.index("--vocab")
        with open(argv[i + 1], encoding="utf-8") as f:
            vocab = set(w.rstrip("\n") for w in f)
        argv = argv[:i] + argv[i + 2:]
    gold, pred, specs = argv[0], argv[1], argv[2:]
    sets = [(s.split(":")[0], int(s.split(":")[1]) - 1) for s in specs]
    res = {n: {"right": 0, "total": 0, "sent_right": 0, "known": [0, 0], "unknown": [0, 0],
               "tp": {}, "gold": {}, "pred": {}} for n, _ in sets}
    n_sent = 0
    for g, p in zip(sentences(gold), sentences(pred)):
        assert len(g) == len(p), "misaligned"
        n_sent += 1
        for k, (name, col) in enumerate(sets):
            r = res[name]
            ok_all = True
            for gc, pc in zip(g, p):
                gt = gc[col]
                pt = pc[col] if len(pc) == 10 else pc[1 + k]
                ok = gt == pt
                ok_all &= ok
                r["right"] += ok
                r["total"] += 1
                r["gold"][gt] = r["gold"].get(gt, 0) + 1
                r["pred"][pt] = r["pred"].get(pt, 0) + 1
                if ok:
                    r["tp"][gt] = r["tp"].get(gt, 0) + 1
                if vocab is not None:
                    key = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", gc[1]).casefold())
                    b = r["known"] if key in vocab else r["unknown"]
                    b[0] += ok
                    b[1] += 1
            r["sent_right"] += ok_all
    out = {}
    for name, _ in sets:
        r = res[name]
        per = {}
        for t in set(r["gold"]) | set(r["pred"]):
            tp = r["tp"].get(t, 0)
            p = tp / r["pred"][t] if r["pred"].get(t) else 0.0
            rc = tp / r["gold"][t] if r["gold"].get(t) else 0.0
            per[t] = {"precision": p, "recall": rc, "f1": 2 * p * rc / (p + rc) if p + rc else 0.0,
                      "support": r["gold"].get(t, 0)}
        out[name] = {"accuracy": r["right"] / r["total"], "sentence_accuracy": r["sent_right"] / n_sent,
                     "per_tag": per}
        if vocab is not None:
            out[name]["known_accuracy"] = r["known"][0] / max(1, r["known"][1])
            out[name]["unknown_accuracy"] = r["unknown"][0] / max(1, r["unknown"][1])
    print(json.dumps({"sentences": n_sent, "tagsets": out}))


main(sys.argv[1:])
