#!/usr/bin/env python3
"""Writes tests/fixtures/tiny_{train,dev}.conllu: a small made-up English
corpus for training tests. Some words take their tag from context ("saw" and
"run" are nouns after a determiner, verbs after a subject), so a model that
learns must use attention, not only the word. Deterministic."""
import os
import random

DET = [("the", "DT"), ("a", "DT"), ("this", "DT")]
ADJ = [("big", "JJ"), ("small", "JJ"), ("red", "JJ"), ("old", "JJ")]
NOUN = [("dog", "NN"), ("cat", "NN"), ("man", "NN"), ("tree", "NN"), ("house", "NN")]
PRON = [("she", "PRP"), ("he", "PRP"), ("they", "PRP")]
VERB = [("sees", "VBZ"), ("likes", "VBZ"), ("finds", "VBZ")]
AMBIG = [("saw", "NN", "VBD"), ("run", "NN", "VBP"), ("walk", "NN", "VBP")]
UPOS = {"DT": "DET", "JJ": "ADJ", "NN": "NOUN", "PRP": "PRON", "VBZ": "VERB", "VBD": "VERB",
        "VBP": "VERB", ".": "PUNCT"}


def noun_phrase(r):
    words = [r.choice(DET)]
    if r.random() < 0.4:
        words.append(r.choice(ADJ))
    if r.random() < 0.3:
        w, n, _ = r.choice(AMBIG)
        words.append((w, n))  # the saw, a run: a noun after a determiner
    else:
        words.append(r.choice(NOUN))
    return words


def sentence(r):
    subj = [r.choice(PRON)] if r.random() < 0.4 else noun_phrase(r)
    if r.random() < 0.4:
        w, _, v = r.choice(AMBIG)
        verb = [(w, v)]  # they saw, we run: a verb after a subject
    else:
        verb = [r.choice(VERB)]
    return subj + verb + noun_phrase(r) + [(".", ".")]


def write(path, n, seed):
    r = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for s in range(n):
            words = sentence(r)
            f.write(f"# sent_id = {s + 1}\n")
            f.write("# text = " + " ".join(w for w, _ in words) + "\n")
            for i, (w, x) in enumerate(words):
                f.write(f"{i + 1}\t{w}\t{w}\t{UPOS[x]}\t{x}\t_\t0\tdep\t_\t_\n")
            f.write("\n")


here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
write(os.path.join(here, "tiny_train.conllu"), 300, 1)
write(os.path.join(here, "tiny_dev.conllu"), 60, 2)
print("wrote tiny_train.conllu (300 sentences) and tiny_dev.conllu (60)")
