"""Command-line tests: batch mode (many files, one output each), and tagging past one machine. Run by tests/cli_test.py."""
from cli_common import *  # noqa: F401,F403  (the shared fixtures and helpers)


# --- batch mode: many files, one output each -----------------------------------------

def make_corpus(d, n_files, lines_per_file):
    """n_files files of sentences from the tiny corpus, in nested directories."""
    words = []
    with open(os.path.join(FIX, "tiny_train.conllu")) as f:
        sent = []
        for line in f:
            if line.strip() == "":
                if sent:
                    words.append(" ".join(sent))
                sent = []
            elif line[0].isdigit() and "\t" in line and "-" not in line.split("\t")[0]:
                sent.append(line.split("\t")[1])
    paths = []
    for i in range(n_files):
        sub = os.path.join(d, "part%d" % (i % 3), "deeper" if i % 2 else "")
        os.makedirs(sub, exist_ok=True)
        p = os.path.join(sub, "doc%03d.txt" % i)
        with open(p, "w") as f:
            for k in range(lines_per_file):
                f.write(words[(i * 7 + k) % len(words)] + "\n")
        paths.append(p)
    return sorted(paths)


def single_stream(path, fmt):
    rc, out, err = run(["-m", REF, "-f", fmt, path])
    assert rc == 0, err
    return out


@test
def batch_outputs_match_single_stream():
    d = scratch("batch")
    corpus = os.path.join(d, "corpus")
    paths = make_corpus(corpus, 7, 30)
    os.chdir(d)
    try:
        rc, _, err = run(["tag", "-m", REF, "-f", "tsv", "-r", "corpus", "-o", "out"])
        assert rc == 0, err
        assert "7 files tagged, 0 skipped, 0 failed" in err, err
        # a directory named by an absolute path: under its own name all the same
        rc, _, err = run(["tag", "-m", REF, "-f", "tsv", "-r", os.path.join(d, "corpus/"), "-o",
                          "abs"])
        assert rc == 0, err
        assert sorted(os.path.relpath(os.path.join(r, f), "abs") for r, _, fs in os.walk("abs")
                      for f in fs) == sorted(os.path.relpath(p, d) + ".tsv" for p in paths)
        for p in paths:
            rel = os.path.relpath(p, d)
            with open(os.path.join(d, "out", rel + ".tsv"), "rb") as f:
                assert f.read() == single_stream(p, "tsv"), rel
        # a list of names, NUL-separated as find -print0 writes it, and outputs beside the inputs
        lst = b"".join(os.path.relpath(p, d).encode() + b"\0" for p in paths[:4])
        rc, _, err = run(["tag", "-m", REF, "-f", "json", "--files-from", "-", "-0", "--suffix",
                          ".out.json"], stdin=lst)
        assert rc == 0, err
        for p in paths[:4]:
            with open(p + ".out.json", "rb") as f:
                assert f.read() == single_stream(p, "json"), p
        assert not os.path.exists(paths[4] + ".out.json")
        # a second run with -r leaves the output directory out of its inputs
        rc, _, err = run(["tag", "-m", REF, "-r", ".", "-o", "out2"])
        rc, _, err = run(["tag", "-m", REF, "-r", ".", "-o", "out2"])
        assert rc == 0 and not os.path.exists(os.path.join(d, "out2", "out2")), err
    finally:
        os.chdir(ROOT)


@test
def batch_reports_bad_files_and_tags_the_rest():
    d = scratch("batch-bad")
    paths = make_corpus(d, 3, 10)
    bad = os.path.join(d, "bad.txt")
    with open(bad, "wb") as f:
        f.write(b"fine line\nbad \xff line\n")
    gone = os.path.join(d, "gone.txt")
    os.symlink("nowhere", gone)
    out = os.path.join(d, "out")
    rc, _, err = run(["tag", "-m", REF, "-o", out, paths[0], bad, gone, paths[1], d, paths[2]])
    assert rc == 2, err
    assert bad + ":2: invalid UTF-8" in err and gone + ": cannot open" in err, err
    assert d + ": is a directory" in err and "3 files tagged, 0 skipped, 3 failed" in err, err
    made = sorted(os.path.join(r, f) for r, _, fs in os.walk(out) for f in fs)
    # each under its base name, as cp FILE... DIR; nothing for the bad ones
    assert made == sorted(os.path.join(out, os.path.basename(p) + ".tag") for p in paths), made


@test
def batch_progress_on_a_terminal_only():
    import pty
    import select
    d = scratch("progress")
    paths = make_corpus(d, 3, 20)
    master, slave = pty.openpty()  # standard error a terminal, as a user's
    p = subprocess.Popen([BIN, "tag", "-m", REF, "-o", os.path.join(d, "out")] + paths,
                         stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        r, _, _ = select.select([master], [], [], 60)
        try:
            chunk = os.read(master, 4096) if r else b""
        except OSError:  # the other end closed
            chunk = b""
        if not chunk:
            break
        seen += chunk
    p.wait()
    os.close(master)
    assert p.returncode == 0, seen
    assert b"files 3/3" in seen and b"tokens/s" in seen, seen
    assert b"3 files tagged, 0 skipped, 0 failed" in seen, seen
    rc, _, err = run(["tag", "-m", REF, "-o", os.path.join(d, "out2")] + paths)  # not a terminal
    assert rc == 0 and "files 3/3" not in err and "3 files tagged" in err, err


@test
def batch_usage_errors():
    expect(["tag", "-m", REF, "--suffix", "", "x"], 1, "empty suffix")
    expect(["tag", "-m", REF, "-o", "o", "--suffix", ".t", "x"], 1, "choose one")
    expect(["tag", "-m", REF, "-r", "x"], 1, "need --output-dir")
    expect(["tag", "-m", REF, "-o", "o"], 1, "needs files")
    expect(["tag", "-m", REF, "-o", "o", "-0", "x"], 1, "-0 needs --files-from")
    os.makedirs(tmp("up/sub"), exist_ok=True)
    with open(tmp("up/x.txt"), "w") as f:
        f.write("The cat .\n")
    # a path through .. names its output by its base name, inside the directory
    rc, _, err = run(["tag", "-m", REF, "-o", tmp("o"), tmp("up/sub/../x.txt")])
    assert rc == 0 and os.path.exists(tmp("o/x.txt.tag")), err
    # two files with one base name: refused before anything is tagged, naming both
    os.makedirs(tmp("up/sub2"), exist_ok=True)
    with open(tmp("up/sub2/x.txt"), "w") as f:
        f.write("The dog .\n")
    expect(["tag", "-m", REF, "-o", tmp("o2"), tmp("up/x.txt"), tmp("up/sub2/x.txt")], 2,
           f"{tmp('up/x.txt')} and {tmp('up/sub2/x.txt')} would both be written to x.txt.tag")
    assert not os.path.exists(tmp("o2/x.txt.tag"))
    # an output that is the input itself (through a link) is refused, the input kept
    os.makedirs(tmp("self"), exist_ok=True)
    src = tmp("self/in.txt")
    with open(src, "w") as f:
        f.write("The cat .\n")
    if os.path.lexists(src + ".out"):
        os.unlink(src + ".out")
    os.symlink("in.txt", src + ".out")
    rc, _, err = run(["tag", "-m", REF, "--suffix", ".out", src])
    assert rc == 2 and "the output would be the input itself" in err, err
    assert open(src).read() == "The cat .\n"


@test
def batch_killed_then_resumed_gives_the_same_outputs():
    import time
    d = scratch("batch-kill")
    paths = make_corpus(os.path.join(d, "in"), 60, 400)
    whole = os.path.join(d, "whole")
    rc, _, err = run(["tag", "-m", REF, "-f", "json", "--probs", "-r", os.path.join(d, "in"),
                      "-o", whole])
    assert rc == 0, err
    want = {os.path.relpath(os.path.join(r, f), whole): open(os.path.join(r, f), "rb").read()
            for r, _, fs in os.walk(whole) for f in fs}
    out = os.path.join(d, "out")
    args = [BIN, "tag", "-m", REF, "-f", "json", "--probs", "-r", os.path.join(d, "in"), "-o", out]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while p.poll() is None and sum(len(fs) for _, _, fs in os.walk(out)) < 5:
        time.sleep(0.001)
    p.kill()
    p.wait()
    done = {os.path.relpath(os.path.join(r, f), out) for r, _, fs in os.walk(out) for f in fs
            if ".tmp" not in f}
    assert 0 < len(done) < len(want), f"{len(done)} of {len(want)} done when killed"
    for rel in done:  # whatever has its final name is whole
        assert open(os.path.join(out, rel), "rb").read() == want[rel], rel
    rc, _, err = run(args[1:] + ["--skip-existing"])
    assert rc == 0 and f"{len(done)} skipped" in err, err
    got = {os.path.relpath(os.path.join(r, f), out): open(os.path.join(r, f), "rb").read()
           for r, _, fs in os.walk(out) for f in fs if ".tmp" not in f}
    assert got == want



@test
def threads_give_the_same_bytes():
    d = scratch("threads")
    paths = make_corpus(d, 4, 300)
    text = b"".join(open(p, "rb").read() for p in paths)
    for fmt in (["-f", "json", "--probs"], ["-f", "tsv", "-s", "all"], ["-f", "wordtag"]):
        outs = set()
        for n in ("1", "2", "3", "7"):
            rc, out, err = run(["-m", REF, "--threads", n] + fmt, text)
            assert rc == 0, err
            outs.add(out)
        assert len(outs) == 1, fmt
    # a bad line late in the input: the same sentences before it, the same message
    bad = text + b"bad \xff line\n" + text[:2000]
    results = {run(["-m", REF, "-j", n], bad) for n in ("1", "2", "5")}
    assert len(results) == 1, [r[2] for r in results]
    rc, out, err = results.pop()
    assert rc == 2 and out.count(b"\n") == text.count(b"\n") and "invalid UTF-8" in err
    gold = os.path.join(FIX, "tiny_dev.conllu")
    scores = set()
    for n in ("1", "2", "4"):
        rc, out, err = run(["eval", "-m", tiny_model(), "--json", "-j", n, gold])
        assert rc == 0, err
        d = json.loads(out)
        d.pop("seconds"), d.pop("tokens_per_s")
        scores.add(json.dumps(d, sort_keys=True))
    assert len(scores) == 1
    with open(gold, "rb") as f:  # a pipe, read twice through a copy
        rc, out, err = run(["eval", "-m", tiny_model(), "--json", "/dev/stdin"], f.read())
    d = json.loads(out)
    d.pop("seconds"), d.pop("tokens_per_s"), d.pop("gold")
    want = json.loads(scores.pop())
    want.pop("gold")
    assert rc == 0 and d == want, err
    expect(["-m", REF, "--threads", "0"], 1, "--threads: expected a number from 1 to 256")
    expect(["-m", REF, "-j", "x"], 1, "--threads")

# --- past one machine: GNU parallel and Dask --------------------------------------------

@test
def gnu_parallel_pipe_gives_the_same_bytes():
    if not shutil.which("parallel"):  # Debian's parallel; tools/install-deps installs it
        print("SKIP gnu_parallel_pipe_gives_the_same_bytes: GNU parallel not installed")
        return
    d = scratch("parallel")
    paths = make_corpus(d, 5, 200)
    corpus = b"".join(open(p, "rb").read() for p in paths)
    rc, want, err = run(["-m", REF, "-f", "tsv"], corpus)
    assert rc == 0, err
    # blocks of about 4 kB cut at line ends, one attntag per block, output in input order
    p = subprocess.run(["parallel", "--pipe", "-k", "--block", "4k", BIN, "-m", REF, "-f", "tsv"],
                       input=corpus, capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout == want


@test
def dask_script_matches_one_process():
    py = "/usr/bin/python3"  # Debian's, with python3-dask and python3-distributed
    if subprocess.run([py, "-c", "import dask.bag, distributed"], capture_output=True).returncode:
        print("SKIP dask_script_matches_one_process: python3-dask or python3-distributed missing")
        return
    d = scratch("dask")
    paths = make_corpus(os.path.join(d, "in"), 6, 50)
    out = os.path.join(d, "out")
    p = subprocess.run([py, os.path.join(ROOT, "tools", "dask-tag.py"), os.path.join(d, "in"), out,
                        "--workers", "2", "--attntag", BIN, "--", "-m", REF, "-f", "json"],
                       capture_output=True, timeout=300)
    assert p.returncode == 0 and b"6 files tagged, 0 failed, on 2 workers" in p.stderr, p.stderr
    for path in paths:
        with open(os.path.join(out, os.path.relpath(path, d) + ".jsonl"), "rb") as f:
            assert f.read() == single_stream(path, "json"), path
