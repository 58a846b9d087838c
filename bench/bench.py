#!/usr/bin/python3
"""The benchmark driver behind bench/run.sh (`make bench`): attntag and other
part-of-speech taggers on UD English EWT test with gold tokens, side by side,
one thread each; writes docs/benchmarks.md and docs/benchmark.svg.

Run it through bench/run.sh, which installs what it needs first. Environment:
  EWT_DIR              the UD English EWT directory (data/ud-en-ewt: `make data`)
  ATTNTAG_BENCH_CACHE  trained peer models and installs (~/.cache/attntag-bench)
  TORCH_EPOCHS         epochs of the PyTorch reference (5)
  BENCH_RUNS           full tagging runs per tagger, median taken (5)
  BENCH_STARTUP_RUNS   one-sentence runs per tagger, median taken (15)
  BENCH_REPEAT         the timed runs tag the test set this many times over (4)
  BENCH_QUIET_WAIT     seconds to wait at most for other processes to leave the
                       CPUs idle before measuring (120)
  BENCH_T0             when run.sh started (seconds since the epoch)
  BENCH_MODEL          the attntag model (models/en-ewt.safetensors)
  BENCH_OUT            where benchmarks.md and benchmark.svg go (docs/)
  BENCH_CPUS           the CPU to measure on and the one to train PyTorch on
                       while NLTK trains on the first (0,1)
  OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE   passed on to PyTorch's OpenBLAS as they
                       are (the report says so, and names the core that ran)

attntag has a row per kernel path the processor runs (the list `attntag info`
prints; ATTNTAG_KERNELS forces a path). The PyTorch reference has a row with
OpenBLAS's kernels for this CPU and, where the CPU has AVX-512, one with
OPENBLAS_CORETYPE=Haswell (its AVX2 kernels), to set against attntag's AVX2
path. Progress goes to standard error.
"""
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import score  # noqa: E402  (bench/score.py: the one scorer)

PY = "/usr/bin/python3"
EWT_DIR = os.path.abspath(os.environ.get("EWT_DIR") or os.path.join(REPO, "data", "ud-en-ewt"))
TRAIN = os.path.join(EWT_DIR, "en_ewt-ud-train.conllu")
TEST = os.path.join(EWT_DIR, "en_ewt-ud-test.conllu")
CACHE = os.environ.get("ATTNTAG_BENCH_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
    "attntag-bench")
MODEL = os.path.abspath(os.environ.get("BENCH_MODEL")
                        or os.path.join(REPO, "models", "en-ewt.safetensors"))
MODEL_SHOWN = (os.path.relpath(MODEL, REPO) if MODEL.startswith(REPO + os.sep) else MODEL)
BUNDLED = MODEL == os.path.join(REPO, "models", "en-ewt.safetensors")
OUT_DIR = os.path.abspath(os.environ.get("BENCH_OUT") or os.path.join(REPO, "docs"))
ATTNTAG = os.path.join(REPO, "attntag")
TORCH_EPOCHS = int(os.environ.get("TORCH_EPOCHS", "5"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
STARTUP_RUNS = int(os.environ.get("BENCH_STARTUP_RUNS", "15"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "4"))
QUIET_WAIT = float(os.environ.get("BENCH_QUIET_WAIT", "120"))
CPU_MEASURE, CPU_TRAIN = (int(c) for c in os.environ.get("BENCH_CPUS", "0,1").split(","))
SERIAL_BLAS = "/usr/lib/x86_64-linux-gnu/openblas-serial"
NODE_MODULES = os.path.join(CACHE, "npm", "node_modules")
LINGUA_DIR = "/usr/share/perl5/Lingua/EN/Tagger"
SHORT = "The quick brown fox jumps over the lazy dog .".split()
# The targets for each kernel path: tokens/s over NLTK's UPOS
# perceptron's, over the PyTorch reference's with the matching OpenBLAS
# kernels, and over attntag's AVX2 path's. A path not named has none.
TARGETS = {
    "avx512": {"nltk": 2.5, "torch": 5.0},
    "avx2": {"nltk": 1.5, "torch": 3.0},
    "plain": {"avx2": 1 / 3},
}
# The OpenBLAS core whose kernels stand for attntag's AVX2 path on a CPU with
# AVX-512; every other path is set against OpenBLAS's own choice.
AVX2_CORE = "Haswell"
T_START = time.time()
T0 = float(os.environ.get("BENCH_T0") or T_START)


def log(msg):
    el = time.time() - T0
    print("[bench %2d:%02d] %s" % (el // 60, el % 60, msg), file=sys.stderr, flush=True)


def die(msg):
    print("bench: " + msg, file=sys.stderr)
    sys.exit(2)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, universal_newlines=True,
                          **kw).stdout.strip()


def try_sh(cmd, **kw):
    try:
        return sh(cmd, stderr=subprocess.DEVNULL, **kw)
    except (OSError, subprocess.CalledProcessError):
        return "?"


def sha1_file(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dpkg_version(pkg):
    return try_sh(["dpkg-query", "-W", "-f=${Version}", pkg])


def dir_size(paths):
    tot = 0
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in os.walk(p):
                tot += sum(os.path.getsize(os.path.join(root, f)) for f in files)
        else:
            tot += os.path.getsize(p)
    return tot


def kernel_paths(env):
    """(the path attntag picks, every path this processor runs), from the
    `kernels:` line of `attntag info`; each path is checked to be the one
    that runs when ATTNTAG_KERNELS names it (attntag falls back silently)."""
    pat = re.compile(r"^kernels: (\S+) \(this processor runs: ([^)]*)\)$", re.M)
    m = pat.search(sh([ATTNTAG, "info", MODEL], env=env))
    if not m or not m.group(2).split():
        die("%s info printed no line 'kernels: PATH (this processor runs: PATHS)'" % ATTNTAG)
    chosen, paths = m.group(1), m.group(2).split()
    for p in paths:
        got = pat.search(sh([ATTNTAG, "info", MODEL], env=dict(env, ATTNTAG_KERNELS=p)))
        if not got or got.group(1) != p:
            die("ATTNTAG_KERNELS=%s: attntag runs %s instead"
                % (p, got.group(1) if got else "no path it names"))
    if chosen not in paths:
        die("attntag chose the %s path, which it does not list among %s" % (chosen, paths))
    return chosen, paths


def check_core(t, err):
    """A PyTorch reference run must have run the OpenBLAS core its row names
    (OPENBLAS_VERBOSE=2 makes OpenBLAS print "Core: NAME" as it loads)."""
    if "core" not in t:
        return
    with open(err, errors="replace") as f:
        seen = re.findall(r"^Core: (\S+)", f.read(), re.M)
    if seen != [t["core"]]:
        die("%s: OpenBLAS said core %s in a tagging run, %s when asked"
            % (t["short"], " ".join(seen) or "nothing", t["core"]))


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def write_vertical(sents, path):
    with open(path, "w", encoding="utf-8") as f:
        for s in sents:
            f.write("".join(t + "\n" for t in s) + "\n")


# --------------------------------------------------------------------------
# Training (cached)
# --------------------------------------------------------------------------

def cached_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def start_training(cmd, env, model, meta_path, what, cpu):
    """Start a training run pinned to one CPU unless its model is cached;
    returns a handle for finish_training()."""
    meta = cached_json(meta_path)
    if meta and os.path.exists(model):
        log("%s: cached (%s, trained in %.0f s)" % (what, model, meta["train_seconds"]))
        return None
    log("%s: training on CPU %d ..." % (what, cpu))
    logf = open(model + ".log", "w")
    t0 = time.perf_counter()
    p = subprocess.Popen(["taskset", "-c", str(cpu)] + cmd, env=env, stdout=logf,
                         stderr=subprocess.STDOUT)
    return (p, t0, logf, meta_path, what, model)


def finish_training(h):
    if h is None:
        return
    p, t0, logf, meta_path, what, model = h
    rc = p.wait()
    secs = time.perf_counter() - t0
    logf.close()
    if rc != 0:
        with open(model + ".log") as f:
            sys.stderr.write(f.read()[-3000:])
        die("%s: training failed (exit %d); log: %s.log" % (what, rc, model))
    with open(meta_path, "w") as f:
        json.dump({"train_seconds": round(secs, 1)}, f)
    log("%s: trained in %.0f s" % (what, secs))


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------

def run_measured(cmd, env, stdin_path, stdout_path, stderr_path, memory=True):
    """Run cmd; (wall seconds, max RSS in KiB). With memory, on CPU_MEASURE
    under GNU time; without, with no program around it (taskset and GNU time
    would count their own starts as the tagger's), on CPU_MEASURE when this
    process is pinned there (the start-up runs pin it), and RSS None."""
    tfile = stdout_path + ".time"
    full = (["taskset", "-c", str(CPU_MEASURE), "/usr/bin/time", "-v", "-o", tfile] + cmd
            if memory else cmd)
    with open(stdin_path, "rb") as fi, open(stdout_path, "wb") as fo, \
            open(stderr_path, "wb") as fe:
        t0 = time.perf_counter()
        rc = subprocess.call(full, env=env, stdin=fi, stdout=fo, stderr=fe)
        wall = time.perf_counter() - t0
    if rc != 0:
        with open(stderr_path, errors="replace") as f:
            sys.stderr.write(f.read()[-2000:])
        die("command failed (exit %d): %s" % (rc, " ".join(cmd)))
    if not memory:
        return wall, None
    with open(tfile) as f:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read())
    return wall, int(m.group(1))


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

class OtherLoad:
    """CPU time that processes other than this one and its children used
    while it ran, on average in cores (from /proc/stat and getrusage)."""

    def __init__(self):
        self.t0 = self.sample()

    @staticmethod
    def sample():
        import resource
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        busy = (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
        ours = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            r = resource.getrusage(who)
            ours += r.ru_utime + r.ru_stime
        return time.time(), busy, ours

    def cores(self):
        w1, b1, o1 = self.sample()
        w0, b0, o0 = self.t0
        return max(0.0, (b1 - b0) - (o1 - o0)) / max(1e-9, w1 - w0)


def quiet_wait(limit):
    """Wait (at most limit seconds) until other processes leave the CPUs
    nearly idle, so that they do not share the measurements' core."""
    t0 = time.time()
    while True:
        busy = cpu_busy(3.0)
        if busy < 0.1:
            return
        if time.time() - t0 > limit:
            log("the CPUs are still %.0f%% busy with other work: measuring anyway" % (100 * busy))
            return
        log("the CPUs are %.0f%% busy with other work: waiting for them to go idle" % (100 * busy))


def cpu_busy(secs):
    """Fraction of all CPUs' time spent busy over the next secs seconds."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]          # total, idle + iowait
    t0, i0 = sample()
    time.sleep(secs)
    t1, i1 = sample()
    return 1 - (i1 - i0) / max(1, t1 - t0)


def slug(t):
    return re.sub(r"[^a-z0-9]+", "-", t["short"].lower()).strip("-")


def ratio(r):
    if r >= 10:
        return "%.0f" % r
    if r >= 1:
        return "%.1f" % r
    return "%.2g" % r


def epochs(n):
    return "%d epoch%s" % (n, "" if n == 1 else "s")


MAIN_HEADER = ("| tagger | UPOS % | XPOS % | unknown UPOS % | unknown XPOS % | tokens/s "
               "| × attntag | start-up | peak memory | model on disk | training |")
RATIO_HEADER = ("| attntag | tokens/s | ÷ NLTK UPOS | target | ÷ PyTorch ref. (OpenBLAS core) "
                "| target | ÷ attntag avx2 | target |")


def target(r, t):
    """'≥ 1.5: met', '≥ 1/3: NOT met', or — without a target."""
    if t is None or r is None:
        return "—"
    import fractions
    f = fractions.Fraction(t).limit_denominator(10)
    shown = "%g" % t if f.denominator == 1 or abs(float(f) - t) > 1e-9 or t >= 1 else str(f)
    return "≥ %s: %s" % (shown, "met" if r >= t else "NOT met")


def pct(x):
    return "—" if x is None else "%.2f" % (100 * x)


def human_bytes(n):
    if n >= 1 << 20:
        return "%.1f MiB" % (n / (1 << 20))
    return "%.0f KiB" % (n / 1024)


def fmt_secs(s):
    if s is None:
        return "—"
    if s >= 120:
        return "%.1f min" % (s / 60)
    return "%.0f s" % s


def plot(rows, svg, work):
    """Accuracy against tagging speed (gnuplot, SVG): a point per tagger and
    tag set, a label per tagger beside its higher point."""
    import math
    dat = os.path.join(work, "chart.dat")
    lab = os.path.join(work, "chart-labels.dat")
    accs = [100 * r["scores"][ts]["accuracy"] for r in rows for ts in r["scores"]]
    speeds = [r["tokps"] for r in rows]
    lo = max(0, math.floor(min(accs)) - 2)
    hi = min(100, math.ceil(max(accs)) + 1)
    step = (hi - lo) * 0.05          # a label's height, in accuracy points
    xmin, xmax = min(speeds) / 2, max(speeds) * 4
    per_char = 7.5 / (700 / (math.log10(xmax) - math.log10(xmin)))   # decades per character
    placed = []                      # (left, right, y) of each label, x in decades
    with open(dat, "w") as f, open(lab, "w") as fl:
        for r in sorted(rows, key=lambda r: -max(r["scores"][ts]["accuracy"]
                                                  for ts in r["scores"])):
            up = r["scores"].get("upos", {}).get("accuracy")
            xp = r["scores"].get("xpos", {}).get("accuracy")
            f.write('"%s" %.1f %s %s\n' % (r["short"], r["tokps"],
                                           "%.3f" % (100 * up) if up else "NaN",
                                           "%.3f" % (100 * xp) if xp else "NaN"))
            left = math.log10(r["tokps"] * 1.12)
            right = left + per_char * (len(r["short"]) + 1)
            ly = 100 * max(a for a in (up, xp) if a is not None)
            # move the label down until it clears every label already placed
            while any(left < pr and pl < right and abs(ly - py) < step
                      for pl, pr, py in placed):
                ly -= step
            placed.append((left, right, ly))
            fl.write('"%s" %.1f %.3f\n' % (r["short"], r["tokps"] * 1.12, ly))
    gp = os.path.join(work, "chart.gp")
    with open(gp, "w") as f:
        f.write("""set terminal svg size 820,520 dynamic enhanced font "Helvetica,13" background "#ffffff"
set output "%s"
set title "Part-of-speech taggers on UD English EWT test (gold tokens, one core)"
set xlabel "tagging speed, tokens/s (log scale)"
set ylabel "accuracy, %%"
set logscale x
set format x "%%.0s%%c"
set xrange [%g:%g]
set yrange [%g:%g]
set grid
set key top right box opaque width 1.5
set datafile missing "NaN"
plot "%s" using 2:3 with points pt 7 ps 1.2 lc rgb "#1f77b4" title "UPOS", \\
     "%s" using 2:4 with points pt 5 ps 1.1 lc rgb "#d62728" title "XPOS", \\
     "%s" using 2:3:1 with labels left font ",11" notitle
""" % (svg, xmin, xmax, lo, hi, dat, dat, lab))
    subprocess.run(["gnuplot", gp], check=True)


def main():
    for p in (TRAIN, TEST):
        if not os.access(p, os.R_OK):
            die("%s not found: the benchmark needs UD English EWT (CC BY-SA 4.0); "
                "run make data, or set EWT_DIR to its directory" % p)
    for p in (ATTNTAG, MODEL):
        if not os.path.exists(p):
            die("%s not found (run make first)" % p)
    os.makedirs(CACHE, exist_ok=True)
    work = os.path.join(CACHE, "last-run")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    log("cache: %s; EWT: %s" % (CACHE, EWT_DIR))

    gold = score.read_conllu(TEST)
    vocab = score.train_vocab(TRAIN)
    test_sents = [[c[1] for c in s] for s in gold]
    n_tokens = sum(len(s) for s in test_sents)
    n_unknown = sum(1 for s in test_sents for t in s if t.lower() not in vocab)
    test_vert = os.path.join(work, "test.vert")
    short_vert = os.path.join(work, "short.vert")
    write_vertical(test_sents, test_vert)
    write_vertical([SHORT], short_vert)
    train_sha = sha1_file(TRAIN)[:12]

    base_env = dict(os.environ)
    base_env["OMP_NUM_THREADS"] = "1"
    # attntag's own choice of kernels for its first row, whatever the caller set
    base_env.pop("ATTNTAG_KERNELS", None)
    chosen_path, paths = kernel_paths(base_env)
    paths = [chosen_path] + [p for p in paths if p != chosen_path]
    log("attntag kernel paths: %s (its choice: %s)" % (" ".join(paths), chosen_path))
    torch_env = dict(base_env)
    torch_env["LD_LIBRARY_PATH"] = SERIAL_BLAS + (
        ":" + os.environ["LD_LIBRARY_PATH"] if os.environ.get("LD_LIBRARY_PATH") else "")
    # OpenBLAS names the core whose kernels it loaded ("Core: Haswell") on
    # standard error: each run of the reference says which one ran
    torch_env["OPENBLAS_VERBOSE"] = "2"
    ctype = os.environ.get("OPENBLAS_CORETYPE")
    l2 = os.environ.get("OPENBLAS_L2_SIZE")
    # the reference as the environment has it (OpenBLAS's own choice unless
    # OPENBLAS_CORETYPE is set) and, on a CPU with AVX-512, held to AVX2
    torch_envs = [("own", torch_env)]
    has_avx512 = "avx512f" in cpu_flags()
    if has_avx512 and (ctype or "").lower() != AVX2_CORE.lower():
        torch_envs.append(("avx2", dict(torch_env, OPENBLAS_CORETYPE=AVX2_CORE)))
    # Lingua::EN::Tagger breaks ties between tags in Perl's hash order, which
    # Perl randomises per process: a fixed seed makes its runs repeatable
    perl_env = dict(base_env)
    perl_env["PERL_HASH_SEED"] = "0"
    perl_env["PERL_PERTURB_KEYS"] = "0"
    node_env = dict(base_env)
    node_env["NODE_PATH"] = NODE_MODULES

    # ---- training (cached): NLTK on CPU 0, the PyTorch reference on CPU 1
    import nltk
    nltk_ver = nltk.__version__
    model_info = json.loads(sh([PY, "-B", "-c", "import sys, json; sys.path.insert(0, %r); "
                                "import torch_tagger as t; s = t.read_attntag_model(%r); "
                                "print(json.dumps({'config': s['config'], 'checksum': s['checksum'], "
                                "'vocab': len(s['vocab']), 'lexicon': len(s['lexicon'])}))"
                                % (HERE, MODEL)]))
    cfg = model_info["config"]
    torch_key = hashlib.sha1(json.dumps([train_sha, model_info["checksum"], cfg, TORCH_EPOCHS,
                                         "recipe-1"], sort_keys=True).encode()).hexdigest()[:12]
    torch_model = os.path.join(CACHE, "torch-%s.pt" % torch_key)
    other = OtherLoad()
    h_torch = start_training(
        [PY, os.path.join(HERE, "torch_tagger.py"), "train", "--attntag-model", MODEL,
         "--train", TRAIN, "--epochs", str(TORCH_EPOCHS), "-o", torch_model],
        torch_env, torch_model, torch_model + ".json",
        "PyTorch reference (%d epochs)" % TORCH_EPOCHS, CPU_TRAIN)
    nltk_models = {}
    trained_nltk = False
    for ts in ("upos", "xpos"):
        m = os.path.join(CACHE, "nltk-%s-%s-%s.pickle" % (ts, nltk_ver, train_sha))
        nltk_models[ts] = m
        h = start_training(
            [PY, os.path.join(HERE, "nltk_tagger.py"), "train", "--train", TRAIN, "--tagset", ts,
             "-o", m], base_env, m, m + ".json", "NLTK perceptron, %s" % ts.upper(), CPU_MEASURE)
        trained_nltk = trained_nltk or h is not None
        finish_training(h)
    trained_here = h_torch is not None or trained_nltk
    finish_training(h_torch)
    other_training = other.cores()
    with open(torch_model + ".info.json") as f:
        torch_info = json.load(f)

    # ---- the taggers
    at_tagsets = [ts for ts in ("upos", "xpos") if ts in cfg["tagsets"]]
    wink_files = [os.path.join(NODE_MODULES, "wink-lexicon", "src", "lexicon.js"),
                  os.path.join(NODE_MODULES, "wink-pos-tagger", "src")]
    lingua_files = [os.path.join(LINGUA_DIR, f) for f in ("pos_words.hash", "pos_tags.hash")]
    at_cmd = [ATTNTAG, "-m", MODEL, "-i", "vertical", "-f", "tsv", "-s", ",".join(at_tagsets)]
    taggers = [
        {"name": "**attntag** (%s), %s path (%s)" % (
            "bundled model" if BUNDLED else MODEL_SHOWN, p,
            "its choice on this CPU" if p == chosen_path else "ATTNTAG_KERNELS=%s" % p),
         "short": "attntag %s" % p, "path": p, "cmd": at_cmd,
         "env": base_env if p == chosen_path else dict(base_env, ATTNTAG_KERNELS=p),
         "tagsets": at_tagsets, "size": os.path.getsize(MODEL),
         "train": None, "train_note": "bundled"}
        for p in paths]
    n_att = len(taggers)
    taggers += [
        {"name": "PyTorch reference, same network (%s)" % epochs(torch_info["epochs"]),
         "short": "PyTorch ref." if which == "own" else "PyTorch ref. %s" % AVX2_CORE,
         "blas_kernels": which,
         "cmd": [PY, os.path.join(HERE, "torch_tagger.py"), "tag", torch_model],
         "env": env, "tagsets": at_tagsets, "size": os.path.getsize(torch_model),
         "train": cached_json(torch_model + ".json")["train_seconds"]}
        for which, env in torch_envs]
    taggers += [
        {"name": "NLTK averaged perceptron, UPOS model", "short": "NLTK UPOS",
         "cmd": [PY, os.path.join(HERE, "nltk_tagger.py"), "tag", nltk_models["upos"]],
         "env": base_env, "tagsets": ["upos"], "size": os.path.getsize(nltk_models["upos"]),
         "train": cached_json(nltk_models["upos"] + ".json")["train_seconds"]},
        {"name": "NLTK averaged perceptron, XPOS model", "short": "NLTK XPOS",
         "cmd": [PY, os.path.join(HERE, "nltk_tagger.py"), "tag", nltk_models["xpos"]],
         "env": base_env, "tagsets": ["xpos"], "size": os.path.getsize(nltk_models["xpos"]),
         "train": cached_json(nltk_models["xpos"] + ".json")["train_seconds"]},
        {"name": "wink-pos-tagger (pretrained)", "short": "wink",
         "cmd": ["node", os.path.join(HERE, "wink_tag.js")], "env": node_env,
         "tagsets": ["xpos"], "size": dir_size(wink_files), "train": None,
         "train_note": "pretrained"},
        {"name": "Lingua::EN::Tagger (pretrained)", "short": "Lingua",
         "cmd": ["perl", os.path.join(HERE, "lingua_tag.pl")], "env": perl_env,
         "tagsets": ["xpos"], "size": dir_size(lingua_files), "train": None,
         "train_note": "pretrained"},
    ]

    # ---- the PyTorch network with attntag's own weights: same tags?
    log("architecture check: the PyTorch network run with the attntag model's weights ...")
    at_check = os.path.join(work, "check-attntag.tsv")
    tc_check = os.path.join(work, "check-torch.tsv")
    run_measured(taggers[0]["cmd"], base_env, test_vert, at_check, at_check + ".err")
    run_measured([PY, os.path.join(HERE, "torch_tagger.py"), "tag", MODEL], torch_env, test_vert,
                 tc_check, tc_check + ".err")
    pa = score.read_pred(at_check, len(at_tagsets))
    pt = score.read_pred(tc_check, len(at_tagsets))
    agree = {ts: sum(a[1 + k] == b[1 + k] for sa, sb in zip(pa, pt) for a, b in zip(sa, sb))
             / n_tokens for k, ts in enumerate(at_tagsets)}
    log("architecture check: same tag for %s of the test words"
        % ", ".join("%s %.3f%%" % (ts.upper(), 100 * v) for ts, v in agree.items()))
    # what OpenBLAS says of itself, in a process with each reference row's
    # environment; the tagging runs' own "Core:" lines are checked against it
    for t in taggers:
        if "blas_kernels" not in t:
            continue
        t["blas"] = json.loads(sh(["taskset", "-c", str(CPU_MEASURE), PY,
                                   os.path.join(HERE, "torch_tagger.py"), "blas"], env=t["env"],
                                  stderr=subprocess.DEVNULL))
        core = t["blas"].get("openblas_core")
        if not core:
            die("PyTorch did not load OpenBLAS (libraries: %s): the rows name OpenBLAS's kernels"
                % ", ".join(t["blas"]["libraries"]))
        t["core"] = core
        if t["blas_kernels"] == "avx2":
            how = "OPENBLAS_CORETYPE=%s: its AVX2 kernels" % AVX2_CORE
        elif ctype:
            how = "OPENBLAS_CORETYPE=%s from the environment" % ctype
        else:
            how = "OpenBLAS's own choice"
        t["name"] += ", OpenBLAS core %s (%s)" % (core, how)
        if t["blas_kernels"] == "own":
            t["short"] = "PyTorch ref. %s" % core
        log("%s: OpenBLAS core %s (%s)" % (t["short"], core, how))
    blas = next(t["blas"] for t in taggers if "blas" in t)

    # ---- side by side: one scored run over the test set; RUNS timed runs over
    # the test set REPEAT times; STARTUP_RUNS runs on one short sentence
    rep_vert = os.path.join(work, "test-x%d.vert" % REPEAT)
    write_vertical(test_sents * REPEAT, rep_vert)
    n_rep = n_tokens * REPEAT
    quiet_wait(QUIET_WAIT)
    load_before = cpu_busy(2.0)
    other = OtherLoad()
    for t in taggers:
        t["walls"], t["starts"] = [], []
        t["out"] = os.path.join(work, "pred-%s.tsv" % slug(t))
        wall, rss = run_measured(t["cmd"], t["env"], test_vert, t["out"], t["out"] + ".err")
        t["rss"] = [rss]
        check_core(t, t["out"] + ".err")
        t["scores"] = score.score(gold, vocab, score.read_pred(t["out"], len(t["tagsets"])),
                                  t["tagsets"])
        log("%-13s %s" % (t["short"], ", ".join("%s %.2f%% (unknown %.2f%%)" % (
            ts.upper(), 100 * s["accuracy"], 100 * s["unk_accuracy"])
            for ts, s in t["scores"].items())))
    for r in range(RUNS):
        for t in taggers:
            out = os.path.join(work, "speed-%s.tsv" % slug(t))
            wall, rss = run_measured(t["cmd"], t["env"], rep_vert, out, out + ".err")
            t["walls"].append(wall)
            t["rss"].append(rss)
            check_core(t, out + ".err")
            # the same tags as the scored run, every time
            with open(out, encoding="utf-8") as f, open(t["out"], encoding="utf-8") as g:
                got, want = f.read().split("\n"), (g.read() * REPEAT).split("\n")
            changed = sum(x != y for x, y in zip(got, want)) + abs(len(got) - len(want))
            t["changed"] = max(t.get("changed", 0), changed)
            log("run %d/%d %-13s %6.2f s  %7.0f tokens/s (start-up included)  %6.1f MiB"
                % (r + 1, RUNS, t["short"], wall, n_rep / wall, rss / 1024))
    # pinned as the children are (they inherit it), which lets the child be
    # started without a fork of this process (no preexec function)
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {CPU_MEASURE})
    for r in range(STARTUP_RUNS):
        for t in taggers:
            out = os.path.join(work, "short-%s.tsv" % slug(t))
            wall, _ = run_measured(t["cmd"], t["env"], short_vert, out, out + ".err",
                                   memory=False)
            t["starts"].append(wall)
            check_core(t, out + ".err")
    os.sched_setaffinity(0, cpus)
    other_measuring = other.cores()
    log("other processes used %.2f cores on average during the measurements" % other_measuring)
    for t in taggers:
        t["wall"] = statistics.median(t["walls"])
        t["start"] = statistics.median(t["starts"])
        net = t["wall"] - t["start"]
        # a run barely longer than start-up says nothing about the tagging
        # itself: then the speed keeps start-up in (and says so)
        t["startup_included"] = net < 0.25 * t["wall"]
        t["tokps"] = n_rep / (t["wall"] if t["startup_included"] else net)
        t["peak"] = max(t["rss"])
        log("%-13s %.0f tokens/s, start-up %.0f ms" % (t["short"], t["tokps"], 1000 * t["start"]))
    with open(taggers[-1]["out"] + ".err") as f:
        m = re.search(r"resplit (\d+) of (\d+)", f.read())
    lingua_resplit = (int(m.group(1)), int(m.group(2))) if m else None
    att = taggers[0]

    # ---- cross-check attntag with its own scorer, on every path
    cross_ok = True
    for t in taggers[:n_att]:
        ev = json.loads(sh([ATTNTAG, "eval", "-m", MODEL, "--json", TEST], env=t["env"]))
        t["cross"] = {ts: (ev["tagsets"][ts]["accuracy"], t["scores"][ts]["accuracy"])
                      for ts in at_tagsets}
        t["cross_ok"] = all(abs(a - b) < 1e-9 for a, b in t["cross"].values())
        cross_ok = cross_ok and t["cross_ok"]
        log("%s: attntag eval agrees with bench/score.py: %s" % (t["short"], t["cross_ok"]))

    # ---- every path's tags against the plain path's, token by token
    plain = next((t for t in taggers[:n_att] if t["path"] == "plain"), None)
    if plain:
        pp = score.read_pred(plain["out"], len(at_tagsets))
        for t in taggers[:n_att]:
            pt = score.read_pred(t["out"], len(at_tagsets))
            t["same_as_plain"] = sum(a[1:] == b[1:] for sa, sb in zip(pt, pp) for a, b in zip(sa, sb))
            log("%s: the plain path's tags for %d of %d test words"
                % (t["short"], t["same_as_plain"], n_tokens))

    # ---- the targets: tokens/s over NLTK UPOS's, over the PyTorch reference
    # with the matching OpenBLAS kernels, and over attntag's AVX2 path
    nltk_upos = next(t for t in taggers if t["short"] == "NLTK UPOS")
    torch_rows = {t["blas_kernels"]: t for t in taggers if "blas_kernels" in t}
    by_path = {t["path"]: t for t in taggers[:n_att]}
    for t in taggers[:n_att]:
        tw = torch_rows.get("avx2") if t["path"] == "avx2" else None
        t["torch_match"] = tw or torch_rows["own"]
        t["vs"] = {"nltk": t["tokps"] / nltk_upos["tokps"],
                   "torch": t["tokps"] / t["torch_match"]["tokps"]}
        if "avx2" in by_path and t["path"] != "avx2":
            t["vs"]["avx2"] = t["tokps"] / by_path["avx2"]["tokps"]

    # ---- versions and machine
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    fam = try_sh(["sh", "-c", "lscpu | sed -n 's/^CPU family: *//p'"])
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    debian = open("/etc/debian_version").read().strip() if os.path.exists("/etc/debian_version") \
        else "?"
    with open(os.path.join(NODE_MODULES, "wink-pos-tagger", "package.json")) as f:
        wink_ver = json.load(f)["version"]
    with open(os.path.join(NODE_MODULES, "wink-lexicon", "package.json")) as f:
        winklex_ver = json.load(f)["version"]
    versions = [
        ("attntag", try_sh([ATTNTAG, "--version"]), "this repository, `make`; kernel paths "
         "this processor runs: %s" % ", ".join(paths)),
        ("PyTorch", "%s (Debian python3-torch %s)" % (blas["torch"], dpkg_version("python3-torch")),
         "Python %s" % platform.python_version()),
        ("OpenBLAS (serial)", dpkg_version("libopenblas0-serial"), "Debian libopenblas0-serial"),
        ("NLTK", "%s (Debian python3-nltk %s)" % (nltk_ver, dpkg_version("python3-nltk")),
         "nltk.tag.perceptron.PerceptronTagger"),
        ("wink-pos-tagger", "%s (wink-lexicon %s)" % (wink_ver, winklex_ver),
         "npm; Node.js %s" % try_sh(["node", "--version"])),
        ("Lingua::EN::Tagger", dpkg_version("liblingua-en-tagger-perl"),
         "Debian liblingua-en-tagger-perl; Perl %s"
         % try_sh(["perl", "-e", "print $^V"])),
        ("gnuplot", try_sh(["gnuplot", "--version"]), "the chart"),
    ]

    # ---- chart and report
    os.makedirs(OUT_DIR, exist_ok=True)
    svg = os.path.join(OUT_DIR, "benchmark.svg")
    plot(taggers, svg, work)
    total = time.time() - T0
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(T_START))
    L = []
    w = L.append
    w("# Benchmarks")
    w("")
    w("<!-- generated by bench/run.sh (`make bench`); do not edit: re-run it -->")
    w("")
    w("attntag and other part-of-speech taggers side by side, in one run, on the test "
      "part of Universal Dependencies English EWT (CC BY-SA 4.0) with gold tokens: "
      "%d sentences, %d words. `make bench` (bench/run.sh) made this page on %s."
      % (len(gold), n_tokens, date))
    w("")
    w("- Machine: %s (CPU family %s), %d cores, %.0f GiB memory, Linux %s, Debian %s."
      % (cpu, fam, os.cpu_count(), mem, platform.release(), debian))
    w("- Every tagger runs on one core (`taskset -c %d`, one thread); the peer models were "
      "trained (once, cached) before the measurements began. Other processes kept the "
      "CPUs %.0f%% busy in the 2 s before the measurements and used %.2f of the %d cores on "
      "average during them%s." % (CPU_MEASURE, 100 * load_before, other_measuring,
                                  os.cpu_count(),
                                  "; %.2f cores during the training" % other_training
                                  if trained_here else ""))
    w("- This run took %.1f min (from the start of bench/run.sh: installs, build, %s, "
      "measurements)." % (total / 60, "training" if trained_here else
                          "peer models from the cache"))
    w("")
    w(MAIN_HEADER)
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for t in taggers:
        sc = t["scores"]
        w("| %s | %s | %s | %s | %s | %s | %s | %.0f ms | %.0f MiB | %s | %s |" % (
            t["name"],
            pct(sc["upos"]["accuracy"]) if "upos" in sc else "—",
            pct(sc["xpos"]["accuracy"]) if "xpos" in sc else "—",
            pct(sc["upos"]["unk_accuracy"]) if "upos" in sc else "—",
            pct(sc["xpos"]["unk_accuracy"]) if "xpos" in sc else "—",
            "{:,}".format(round(t["tokps"])) + (" *" if t["startup_included"] else ""),
            "1" if t is att else ratio(t["tokps"] / att["tokps"]),
            1000 * t["start"], t["peak"] / 1024, human_bytes(t["size"]),
            fmt_secs(t["train"]) if t["train"] is not None else t.get("train_note", "—")))
    if any(t["startup_included"] for t in taggers):
        w("")
        w("\\* start-up included: a run over the test set took less than 4/3 of the start-up "
          "time, so the difference would be mostly noise.")
    w("")
    w("![Accuracy against tagging speed](benchmark.svg)")
    w("")
    w("## attntag's kernel paths against the targets")
    w("")
    w("attntag's tokens/s on each kernel path over NLTK's UPOS perceptron's, over the "
      "PyTorch reference's with the matching OpenBLAS kernels (attntag's AVX2 path against "
      "OpenBLAS held to its AVX2 kernels%s, every other path against OpenBLAS's kernels as "
      "it ran them in the first PyTorch row), and over attntag's AVX2 path's; all from the "
      "table above. The targets are those of the issue; a path without one shows —."
      % (", OPENBLAS_CORETYPE=%s, where the CPU has AVX-512" % AVX2_CORE
         if "avx2" in torch_rows else " — not measured here: %s" % (
             "the CPU has no AVX-512, so OpenBLAS's own choice stands for AVX2"
             if not has_avx512 else "OPENBLAS_CORETYPE=%s is already the environment's" % ctype)))
    w("")
    w(RATIO_HEADER)
    w("| --- | ---: | ---: | --- | ---: | --- | ---: | --- |")
    for t in taggers[:n_att]:
        tg = TARGETS.get(t["path"], {})
        w("| %s | %s | %.2f | %s | %.2f (%s) | %s | %s | %s |" % (
            "%s path%s" % (t["path"], "" if t["path"] == chosen_path
                           else " (ATTNTAG_KERNELS=%s)" % t["path"]),
            "{:,}".format(round(t["tokps"])), t["vs"]["nltk"], target(t["vs"]["nltk"], tg.get("nltk")),
            t["vs"]["torch"], t["torch_match"]["core"], target(t["vs"]["torch"], tg.get("torch")),
            "%.2f" % t["vs"]["avx2"] if "avx2" in t["vs"] else "—",
            target(t["vs"].get("avx2"), tg.get("avx2"))))
    w("")
    w("## What the columns mean")
    w("")
    w("- **rows**: attntag has one per kernel path this processor runs (`attntag info`), the "
      "first the path it picks by itself, the others forced with `ATTNTAG_KERNELS`. The "
      "PyTorch reference has one with OpenBLAS's kernels as the environment leaves them%s."
      % (" and one with `OPENBLAS_CORETYPE=%s`, OpenBLAS's AVX2 kernels, to set against "
         "attntag's AVX2 path on this CPU with AVX-512" % AVX2_CORE if "avx2" in torch_rows
         else ""))
    w("- **UPOS, XPOS**: accuracy over all %d test words, scored by one scorer "
      "(bench/score.py) for every tagger. Taggers without universal tags (wink, Lingua) "
      "have no UPOS; NLTK's perceptron learns one tag set per model, so it has two rows."
      % n_tokens)
    w("- **unknown**: accuracy over the %d test words (%.1f%%) whose lower-cased form is "
      "not the lower-cased form of any word of EWT train; the same words for every tagger, "
      "whatever its own vocabulary." % (n_unknown, 100 * n_unknown / n_tokens))
    w("- **tokens/s**: words tagged per second of wall time once started: %d × %d words "
      "(the test set %d times over, one token per line, in one process that writes the "
      "tags) divided by (the median wall time of %d such runs - the median start-up time). "
      "The runs of the different taggers alternate, and every run's tags must equal the "
      "scored run's. **× attntag** is that speed over attntag's first row's (the path it "
      "picks on this CPU), both from this run. Taggers "
      "that cache per word form (attntag's word features, PyTorch's features here, Lingua's "
      "memoised lookups) gain a little from the repetition; the test set alone has %d distinct forms in %d words."
      % (REPEAT, n_tokens, REPEAT, RUNS, len({t for s in test_sents for t in s}), n_tokens))
    w("- **start-up**: the median wall time of %d runs tagging one short sentence "
      "(\"%s\"): process start, loading the model, tagging, exit; pinned to the core by the harness "
      "itself, so that no wrapper's start (taskset, GNU time) is counted." % (STARTUP_RUNS, " ".join(SHORT)))
    w("- **peak memory**: the largest \"Maximum resident set size\" of GNU time (`/usr/bin/time "
      "-v`) over the scored run and the timed runs.")
    w("- **model on disk**: attntag: %s (16-bit weights); PyTorch: " % MODEL_SHOWN +
      "the saved state_dict with vocabulary and lexicon (32-bit weights); NLTK: the pickled "
      "(weights, tagdict, classes); wink: wink-lexicon's lexicon.js and wink-pos-tagger's "
      "rules (src/); Lingua: its pos_words.hash and pos_tags.hash.")
    w("- **training**: the wall time of training here on one core (NLTK: 5 iterations, its "
      "default; PyTorch: %s); NLTK trained on core %d while PyTorch trained on core %d. "
      "The attntag model was trained before (`make model`), not in this run."
      % (epochs(torch_info["epochs"]), CPU_MEASURE, CPU_TRAIN))
    w("")
    w("## The PyTorch reference")
    w("")
    w("bench/torch_tagger.py builds the attntag model's network in PyTorch from "
      "`nn.TransformerEncoderLayer` (tests/torch_network.py, the network the C tests' "
      "reference fixtures come from), reading the configuration, vocabulary (%d words), "
      "tag sets and lexicon (%d words) from %s, and trains it from "
      "scratch on EWT train with one thread (`torch.set_num_threads(1)`) for %s "
      "(attntag's own recipe: AdamW, lr 0.002, warm-up then cosine decay, label smoothing, "
      "dropout, word dropout, batches of about 1000 tokens; no early stopping, no weight "
      "averaging); %d parameters. Configuration:"
      % (model_info["vocab"], model_info["lexicon"], MODEL_SHOWN, epochs(torch_info["epochs"]),
         torch_info["parameters"]))
    w("")
    w("    " + json.dumps(cfg))
    w("")
    w("Per epoch (training on core %d): " % CPU_TRAIN + "; ".join(
        "%d: loss %.3f, %.0f s, %s tokens/s" % (e["epoch"], e["train_loss"], e["seconds"],
                                                "{:,}".format(e["tokens_per_s"]))
        for e in torch_info["log"]) + ".")
    w("")
    w("It tags in batches of about 1000 tokens (sentences of similar length together).")
    w("")
    w("Same network: the PyTorch model run with the attntag model's own weights gives the "
      "same tag as attntag for %s of the test words."
      % ", ".join("%.3f%% (%s)" % (100 * v, ts.upper()) for ts, v in agree.items()))
    w("")
    w("BLAS: Debian's PyTorch calls the system BLAS; for the benchmark processes only, "
      "`LD_LIBRARY_PATH=%s` makes it load OpenBLAS's serial build instead of the alternative "
      "installed as libblas.so.3. Libraries mapped into the tagging process: %s. "
      "`OPENBLAS_CORETYPE` was %s and `OPENBLAS_L2_SIZE` %s in the environment of `make "
      "bench`, and are passed on as they are (when `OPENBLAS_CORETYPE` is unset, OpenBLAS "
      "picks its kernels from the CPU it detects)." % (
          SERIAL_BLAS, ", ".join("`%s`" % p for p in blas["libraries"]),
          "`%s`" % ctype if ctype is not None else "unset",
          "`%s`" % l2 if l2 is not None else "unset"))
    w("")
    for t in taggers:
        if "core" in t:
            w("- %s: OpenBLAS reports `%s`, core `%s`%s." % (
                t["short"], t["blas"].get("openblas_config", "?"), t["core"],
                " (OPENBLAS_CORETYPE=%s set for this row)" % AVX2_CORE
                if t["blas_kernels"] == "avx2" else ""))
    w("")
    w("Every run of the reference (scored, timed, start-up) ran with `OPENBLAS_VERBOSE=2`, "
      "so that OpenBLAS named the core it loaded (`Core: ...` on standard error); each named "
      "its row's core.")
    w("")
    w("## Gold tokens and the pretrained taggers")
    w("")
    w("Every tagger gets the gold words of the test set, one token per line, and must give "
      "one tag per token; bench/score.py refuses output that does not line up.")
    w("")
    w("- **attntag**: `attntag -i vertical -f tsv -s %s`, with `ATTNTAG_KERNELS=PATH` in "
      "the environment for a path it does not pick by itself." % ",".join(at_tagsets))
    w("- **NLTK, PyTorch**: read the tokens and tag them as they are.")
    w("- **wink-pos-tagger**: `tagRawTokens()` takes an array of token strings and returns "
      "one tagged token per string (its tokenizer is not run), so alignment is exact. Its "
      "bracket tags `(` `)` are written `-LRB-` `-RRB-` as in EWT; its other tags are kept "
      "(it tags quotes as `\"`, where EWT has ``` `` ``` or `''`).")
    w("- **Lingua::EN::Tagger** has no public method for pre-split tokens (`add_tags` "
      "tokenizes a string). bench/lingua_tag.pl runs its tagging loop on the gold tokens with "
      "the module's own functions: a token its lexicon knows (`'s`, `n't`, `--`, ...) is "
      "looked up whole; any other goes through its punctuation splitter (`_split_punct`, as "
      "its tokenizer would treat a whitespace-separated token), the pieces are tagged in "
      "order and the gold token takes the tag of its first piece. %s Its tag names are "
      "mapped to Penn's: `det` → `DT`, `pp` → `.`, `ppc` → `,`, `pps` → `:`, `ppd` → `$`, "
      "`ppl` → ``` `` ```, `ppr` → `''`, `lrb` → `-LRB-`, `rrb` → `-RRB-`, `prps` → `PRP$`, "
      "`wps` → `WP$`, the rest upper-cased. It breaks ties between equally likely tags in "
      "Perl's hash order, which Perl randomises for each process: it runs with "
      "`PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0` so that its output is the same every run. "
      "Its tags also depend on what it tagged before in the same process: looking up the "
      "last part of a hyphenated word (`anti-Muslim`) creates an empty lexicon entry for it "
      "(Perl autovivification), after which `Muslim` is tagged NN instead of NNP; so the "
      "timed runs, over repeated text, give a few tags that differ from the scored run "
      "(see the cross-check below)."
      % ("This split %d of the %d test tokens into more than one piece." % lingua_resplit
         if lingua_resplit else ""))
    w("- wink and Lingua were made for the Penn Treebank's XPOS conventions, not EWT's: "
      "EWT tags such as HYPH, NFP, ADD, GW and AFX, which they never produce, count as errors.")
    w("")
    w("## Cross-check")
    w("")
    for t in taggers[:n_att]:
        w("- %s path: `attntag eval --json` scores attntag's tags as %s (%s); bench/score.py: "
          "%s." % (t["path"], "equal" if t["cross_ok"] else "DIFFERENT",
                   ", ".join("%s %.4f%%" % (ts.upper(), 100 * a)
                             for ts, (a, b) in t["cross"].items()),
                   ", ".join("%s %.4f%%" % (ts.upper(), 100 * b)
                             for ts, (a, b) in t["cross"].items())))
    if plain:
        w("")
        w("Every kernel path against the plain path, on the scored run: the same %s for %s of "
          "the %d test words (the target is 99.99%%)." % (
              " and ".join(ts.upper() for ts in at_tagsets),
              ", ".join("%s %d (%.3f%%)" % (t["path"], t["same_as_plain"],
                                            100 * t["same_as_plain"] / n_tokens)
                        for t in taggers[:n_att] if t is not plain), n_tokens))
    if any(t["changed"] for t in taggers):
        w("")
        w("Tags of the timed runs (the test set %d times over) that differ from the scored "
          "run's: %s." % (REPEAT, ", ".join("%s %d of %d" % (t["short"], t["changed"],
                                                            n_rep) for t in taggers
                                           if t["changed"])))
    w("")
    w("## Versions")
    w("")
    w("| tool | version | notes |")
    w("| --- | --- | --- |")
    for name, ver, note in versions:
        w("| %s | %s | %s |" % (name, ver, note))
    w("")
    w("Trained peer models and the npm install are cached in %s, so a re-run does not "
      "retrain; the per-run files (predictions, timings) of the last run are in its "
      "last-run/ folder." % CACHE.replace(os.path.expanduser("~"), "~"))
    md = os.path.join(OUT_DIR, "benchmarks.md")
    with open(md, "w", encoding="utf-8") as f:
        f.write("\n".join(L) + "\n")
    log("wrote %s and %s (%.1f min)" % (md, svg, total / 60))
    print("\n".join(L[L.index(MAIN_HEADER):][:2 + len(taggers)]))
    print()
    print("\n".join(L[L.index(RATIO_HEADER):][:2 + n_att]))


if __name__ == "__main__":
    main()
