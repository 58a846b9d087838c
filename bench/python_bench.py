#!/usr/bin/python3
"""How fast attntag tags from Python (python/attntag), against the command
and NLTK's perceptron, on EWT test with gold tokens, one core:

  - the command: `attntag -i vertical -f tsv` over the test set, the median
    wall time of RUNS runs less the median start-up (as make bench counts);
  - Tagger.tag_sents over all the test sentences in one call (model loaded
    before the clock starts), median of RUNS;
  - Tagger.tag, one sentence per call, median of RUNS;
  - NLTK's PerceptronTagger.tag, one sentence per call, trained on EWT train
    (the model make bench trained and cached, else trained here, 5
    iterations, about a minute), median of RUNS;

and the targets: tag_sents at least 0.8x the command's tokens/s, tag at
least 0.5x. The process pins itself to one core (CPU, default 0) and every
run is on one thread.

usage: bench/python_bench.py     (from the repository root, after make shared)
Environment: ATTNTAG_BIN (./attntag), ATTNTAG_LIB (build/pic/libattntag.so.*),
EWT_DIR (data/ud-en-ewt), RUNS (5), CPU (0), ATTNTAG_BENCH_CACHE (the cache of
make bench, ~/.cache/attntag-bench).
"""
import glob
import os
import pickle
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))

from corpus import read_conllu  # noqa: E402

BIN = os.environ.get("ATTNTAG_BIN", os.path.join(ROOT, "attntag"))
EWT = os.environ.get("EWT_DIR", os.path.join(ROOT, "data", "ud-en-ewt"))
RUNS = int(os.environ.get("RUNS", "5"))
CPU = int(os.environ.get("CPU", "0"))
CACHE = os.environ.get("ATTNTAG_BENCH_CACHE") or os.path.join(
    os.path.expanduser("~"), ".cache", "attntag-bench")
MODEL = os.path.join(ROOT, "models", "en-ewt.safetensors")


def die(msg):
    print("python_bench: " + msg, file=sys.stderr)
    sys.exit(2)


def median_time(fn, runs=RUNS):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def command_seconds(vert):
    """The command's tagging time: median wall time less median start-up."""
    def run(data):
        t0 = time.perf_counter()
        p = subprocess.run([BIN, "-m", MODEL, "-i", "vertical", "-f", "tsv", "--threads", "1"],
                           input=data, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if p.returncode:
            die("%s failed: %s" % (BIN, p.stderr.decode()))
        return time.perf_counter() - t0
    start = statistics.median(run(b"Hello\nworld\n.\n\n") for _ in range(15))
    wall = statistics.median(run(vert) for _ in range(RUNS))
    return wall - start, start


def nltk_tagger(train_path):
    from nltk.tag.perceptron import PerceptronTagger
    tagger = PerceptronTagger(load=False)
    cached = sorted(glob.glob(os.path.join(CACHE, "nltk-upos-*.pickle")))
    if cached:
        with open(cached[-1], "rb") as f:
            tagger.model.weights, tagger.tagdict, tagger.classes = pickle.load(f)
        tagger.model.classes = tagger.classes
        return tagger, "make bench's cached model %s" % os.path.basename(cached[-1])
    random.seed(1)
    t0 = time.perf_counter()
    tagger.train([[(c[1], c[3]) for c in s] for s in read_conllu(train_path)], nr_iter=5)
    return tagger, "trained here on EWT train in %.0f s" % (time.perf_counter() - t0)


def main():
    test = os.path.join(EWT, "en_ewt-ud-test.conllu")
    train = os.path.join(EWT, "en_ewt-ud-train.conllu")
    for f in (test, train):
        if not os.path.exists(f):
            die("%s not found (make data, or set EWT_DIR)" % f)
    if not os.access(BIN, os.X_OK):
        die("%s not found (make, or set ATTNTAG_BIN)" % BIN)
    os.sched_setaffinity(0, {CPU})
    import attntag
    sents = [[c[1] for c in s] for s in read_conllu(test)]
    n_tok = sum(map(len, sents))
    vert = "".join("".join(t + "\n" for t in s) + "\n" for s in sents).encode()

    print("attntag from Python, %s" % time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()))
    print("library: %s; kernels: %s; model: %s" % (
        attntag.library_path, attntag._lib.lib.at_kernels_name().decode(), MODEL))
    print("input: EWT test, gold tokens: %d sentences, %d tokens; one core (CPU %d), "
          "medians of %d runs" % (len(sents), n_tok, CPU, RUNS))
    cmd, start = command_seconds(vert)
    rows = [("attntag command (start-up %.1f ms subtracted)" % (1000 * start), n_tok / cmd)]
    with attntag.Tagger() as t:
        t.tag_sents(sents[:50])
        rows.append(("Tagger.tag_sents, all sentences in one call",
                     n_tok / median_time(lambda: t.tag_sents(sents))))
        rows.append(("Tagger.tag, one sentence per call",
                     n_tok / median_time(lambda: [t.tag(s) for s in sents])))
    nl, how = nltk_tagger(train)
    rows.append(("NLTK PerceptronTagger.tag (UPOS; %s)" % how,
                 n_tok / median_time(lambda: [nl.tag(s) for s in sents], runs=min(RUNS, 3))))
    print()
    print("| tagger | tokens/s | x the command |")
    print("| --- | ---: | ---: |")
    for name, tps in rows:
        print("| %s | %s | %.2f |" % (name, "{:,}".format(round(tps)), tps / rows[0][1]))
    print()
    for name, tps, target in ((rows[1][0], rows[1][1], 0.8), (rows[2][0], rows[2][1], 0.5)):
        r = tps / rows[0][1]
        print("%s: %.2fx the command (target %.1fx: %s)" % (name, r, target,
                                                           "met" if r >= target else "MISSED"))


if __name__ == "__main__":
    main()
