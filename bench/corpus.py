"""Readers of the benchmark's corpora, shared by score.py, nltk_tagger.py,
torch_tagger.py and python_bench.py (all run from this directory, which is
then on sys.path) and by tests/python_test.py."""


def read_conllu(path):
    """Sentences as lists of CoNLL-U word lines split on tabs."""
    sents, cur = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if cur:
                    sents.append(cur)
                cur = []
                continue
            if line.startswith("#"):
                continue
            cols = line.split("\t")
            if cols[0].isdigit():
                cur.append(cols)
    if cur:
        sents.append(cur)
    return sents


def read_vertical(f):
    """Token lists from one-token-per-line text, a blank line after each sentence."""
    cur = []
    for line in f:
        line = line.rstrip("\n")
        if line:
            cur.append(line)
        elif cur:
            yield cur
            cur = []
    if cur:
        yield cur
