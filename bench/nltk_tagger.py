#!/usr/bin/python3
"""NLTK's averaged perceptron tagger, trained on a CoNLL-U corpus, for the
benchmark.

    nltk_tagger.py train --train TRAIN.conllu --tagset upos|xpos -o MODEL.pickle
    nltk_tagger.py tag MODEL.pickle < tokens > predictions

Training uses nltk.tag.perceptron.PerceptronTagger(load=False).train() with
NLTK's defaults (5 iterations) and a fixed random seed; the model is pickled as
NLTK does it: (weights, tagdict, classes). Tagging reads one token per line
with a blank line after each sentence (gold tokens) and writes
token<TAB>tag lines in the same layout.
"""
import argparse
import pickle
import random
import sys
import time

from nltk.tag.perceptron import PerceptronTagger

from corpus import read_conllu, read_vertical

COLUMN = {"upos": 3, "xpos": 4}


def read_conllu_tags(path, col):
    """(form, tag) pairs per sentence, the tag from CoNLL-U column col."""
    return [[(cols[1], cols[col]) for cols in s] for s in read_conllu(path)]


def train(a):
    sents = read_conllu_tags(a.train, COLUMN[a.tagset])
    random.seed(1)
    t0 = time.perf_counter()
    tagger = PerceptronTagger(load=False)
    tagger.train(sents, nr_iter=a.iterations)
    secs = time.perf_counter() - t0
    with open(a.output, "wb") as f:
        pickle.dump((tagger.model.weights, tagger.tagdict, tagger.classes), f, -1)
    print("nltk %s: trained on %d sentences, %d iterations, %.1f s"
          % (a.tagset, len(sents), a.iterations, secs), file=sys.stderr)


def tag(a):
    tagger = PerceptronTagger(load=False)
    with open(a.model, "rb") as f:
        tagger.model.weights, tagger.tagdict, tagger.classes = pickle.load(f)
    tagger.model.classes = tagger.classes
    out = sys.stdout
    for toks in read_vertical(sys.stdin):
        out.write("".join("%s\t%s\n" % wt for wt in tagger.tag(toks)))
        out.write("\n")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--train", required=True)
    t.add_argument("--tagset", choices=sorted(COLUMN), required=True)
    t.add_argument("--iterations", type=int, default=5)
    t.add_argument("-o", "--output", required=True)
    g = sub.add_parser("tag")
    g.add_argument("model")
    a = ap.parse_args()
    train(a) if a.cmd == "train" else tag(a)


if __name__ == "__main__":
    main()
