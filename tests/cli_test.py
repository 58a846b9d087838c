#!/usr/bin/env python3
"""Command-line tests for attntag: exit status and messages for bad models and
bad text, every input and output format, model conversion, and install.

Expected values are computed here, independently of attntag (the CoNLL-U
columns, the independent safetensors reader, the reference logits). Run by
`make check` with ATTNTAG_BIN set; prints 'N passed, N failed'."""
import json
import os
import shutil
import traceback
import struct
import subprocess
import sys
import tempfile

from crc32c import crc32c
from runner import BIN, ROOT, run

FIX = os.path.join(ROOT, "tests", "fixtures")
REF = os.path.join(FIX, "ref_pre.json")
TMP = tempfile.mkdtemp(prefix="attntag-cli-")
passed, failed = 0, 0


def test(fn):
    global passed, failed
    try:
        fn()
        passed += 1
    except Exception as ex:  # a crash of the test is a failure too
        failed += 1
        print(f"FAIL {fn.__name__}: {type(ex).__name__}: {ex}")
        # the failing line of the test, for an assertion without a message
        print("    " + traceback.extract_tb(ex.__traceback__)[-1].line)
    return fn


def expect(args, status, needle, stdin=b""):
    rc, out, err = run(args, stdin)
    assert rc == status, f"{args}: exit {rc}, want {status}; stderr: {err}"
    assert needle in err, f"{args}: stderr {err!r} lacks {needle!r}"
    return out


def tmp(name):
    return os.path.join(TMP, name)


def ref_binary():
    path = tmp("ref.safetensors")
    if not os.path.exists(path):
        rc, _, err = run(["convert", REF, path])
        assert rc == 0, err
    with open(path, "rb") as f:
        return f.read()


def header_of(data):
    (n,) = struct.unpack("<Q", data[:8])
    return n, json.loads(data[8:8 + n])


def rebuild(header, data_part):
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data_part


def damaged(name, content):
    path = tmp(name)
    with open(path, "wb") as f:
        f.write(content)
    return path


# --- help, version, usage ------------------------------------------------------

@test
def help_names_every_option():
    rc, out, _ = run(["--help"])
    assert rc == 0
    for opt in ["--model", "--input", "--tokenize", "--format", "--tagset", "--probs", "--top",
                "--line-buffered", "--version", "convert", "info"]:
        assert opt.encode() in out, opt


@test
def version():
    rc, out, _ = run(["--version"])
    assert rc == 0 and out.startswith(b"attntag "), out


@test
def usage_errors_exit_1():
    expect(["--input", "bogus"], 1, "unknown format 'bogus'")
    expect(["--format", "xml"], 1, "unknown format 'xml'")
    expect(["--top", "0", "-f", "json"], 1, "--top")
    expect(["-m", REF, "--probs"], 1, "--probs needs --format json or tsv")
    expect(["-m", REF, "--top", "2", "-f", "tsv"], 1, "--top needs --format json")
    expect(["--no-such-option"], 1, "Try 'attntag --help'")
    expect(["-m", REF, "--tagset", "nope"], 1, 'no tag set "nope"')
    expect(["convert", "only-one"], 1, "two files")


# --- bad models: exit 2 and a message that says what is wrong -----------------------

@test
def missing_model():
    expect(["-m", tmp("absent.safetensors")], 2, "cannot open")


@test
def truncated_model():
    data = ref_binary()
    p = damaged("trunc.safetensors", data[: len(data) // 2])
    expect(["-m", p], 2, "data_offsets")


@test
def wrong_header_length():
    data = ref_binary()
    p = damaged("hlen.safetensors", struct.pack("<Q", len(data) * 2) + data[8:])
    expect(["-m", p], 2, "header length")


@test
def offsets_out_of_range():
    data = ref_binary()
    n, h = header_of(data)
    h["embed.word"]["data_offsets"][1] = len(data) * 4
    expect(["-m", damaged("range.safetensors", rebuild(h, data[8 + n:]))], 2, "out of range")


@test
def overlapping_offsets():
    data = ref_binary()
    n, h = header_of(data)
    b, e = h["heads.upos.bias"]["data_offsets"]
    h["heads.upos.bias"]["data_offsets"] = [b - 4, e - 4]
    expect(["-m", damaged("overlap.safetensors", rebuild(h, data[8 + n:]))], 2, "overlaps")


@test
def wrong_dtype():
    data = ref_binary()
    n, h = header_of(data)
    h["embed.word"]["dtype"] = "F64"
    expect(["-m", damaged("dtype.safetensors", rebuild(h, data[8 + n:]))], 2,
           'dtype "F64" is not supported')


@test
def absurd_dims():
    data = ref_binary()
    n, h = header_of(data)
    h["embed.word"]["shape"] = [2 ** 40, 2 ** 40]
    expect(["-m", damaged("dims.safetensors", rebuild(h, data[8 + n:]))], 2,
           "larger than the file")
    cfg = json.loads(h["__metadata__"]["attntag.config"])
    cfg["dim"] = 10 ** 8
    h2 = json.loads(json.dumps(header_of(data)[1]))
    h2["__metadata__"]["attntag.config"] = json.dumps(cfg)
    expect(["-m", damaged("dims2.safetensors", rebuild(h2, data[8 + n:]))], 2,
           "config: dim is 100000000")


@test
def nan_weight():
    data = bytearray(ref_binary())
    n, h = header_of(bytes(data))
    b = h["embed.word"]["data_offsets"][0]
    data[8 + n + b: 8 + n + b + 4] = struct.pack("<f", float("nan"))
    expect(["-m", damaged("nan.safetensors", bytes(data))], 2, "non-finite")


@test
def not_a_model():
    expect(["-m", damaged("text.json", b'{"hello": 1}')], 2, "not an attntag model")
    expect(["-m", damaged("empty.safetensors", b"")], 2, "too short")


# --- bad and awkward text ---------------------------------------------------------------

@test
def invalid_utf8_names_line():
    expect(["-m", REF], 2, "<stdin>:2: invalid UTF-8", stdin=b"ok line\nbad \xc3\x28 here\n")


@test
def nul_byte_names_line():
    expect(["-m", REF], 2, "<stdin>:1: NUL byte", stdin=b"a\x00b\n")


@test
def file_errors_name_the_file():
    p = damaged("bad.txt", b"fine\n\xff\n")
    expect(["-m", REF, p], 2, p + ":2: invalid UTF-8")
    expect(["-m", REF, tmp("nope.txt")], 2, "cannot open")


@test
def empty_input():
    rc, out, err = run(["-m", REF], b"")
    assert rc == 0 and out == b"", (rc, out, err)


@test
def megabyte_line():
    words = ["dog", "cats", "The", "runs", "."]
    line = " ".join(words[i % 5] for i in range(300000))
    assert len(line) > 1 << 20
    rc, out, err = run(["-m", REF], (line + "\n").encode())
    assert rc == 0, err
    toks = out.decode().split()
    assert len(toks) == 300000 and out.count(b"\n") == 1
    assert all(t.rsplit("_", 1)[0] == words[i % 5] for i, t in enumerate(toks))


@test
def long_lines_are_tagged_in_pieces():
    words = ["dog", "cats", "The", "runs", "."]
    line = " ".join(words[i % 5] for i in range(60000)).encode()  # about 240 kB
    rc, out, err = run(["-m", REF], line + b"\r\nThe dog .\n" + line)
    assert rc == 0 and err.count("2 lines longer than 65536 bytes tagged in pieces") == 1, err
    lines = out.split(b"\n")
    assert len(lines) == 4 and lines[3] == b"", lines[3][:50]
    for got, want in ((lines[0], line), (lines[1], b"The dog ."), (lines[2], line)):
        assert [t.rsplit(b"_", 1)[0] for t in got.split(b" ")] == want.split(b" ")
    rc, out, err = run(["-m", REF, "-f", "tsv"], line + b"\n")
    assert rc == 0 and out.count(b"\n\n") == 1 and out.count(b"\n") == 60001, err


@test
def crlf_and_bom_are_plain_text():
    rc1, plain, _ = run(["-m", REF], b"The dog runs .\nTo Paris\n")
    rc2, crlf, _ = run(["-m", REF], b"\xef\xbb\xbfThe dog runs .\r\nTo Paris\r\n")
    assert rc1 == rc2 == 0 and plain == crlf, (plain, crlf)


@test
def blank_lines_keep_alignment():
    rc, out, _ = run(["-m", REF], b"The dog\n\n\nruns\n")
    assert rc == 0 and out.split(b"\n")[1:3] == [b"", b""] and out.count(b"\n") == 4, out


# --- formats ---------------------------------------------------------------------------

def reference_tags(tagset):
    """Argmax of the torch reference logits for the fixture's sentences."""
    with open(os.path.join(FIX, "ref_pre.expect.json")) as f:
        exp = json.load(f)
    with open(REF) as f:
        tags = json.load(f)["tags"][tagset]
    sents = []
    for s in exp["sentences"]:
        sents.append((s["tokens"], [tags[max(range(len(l)), key=l.__getitem__)]
                                    for l in s["logits"][tagset]]))
    return sents


@test
def wordtag_matches_reference():
    sents = reference_tags("upos")
    text = "".join(" ".join(t) + "\n" for t, _ in sents).encode()
    rc, out, err = run(["-m", REF], text)
    assert rc == 0, err
    want = "".join(" ".join(f"{w}_{t}" for w, t in zip(toks, tags)) + "\n"
                   for toks, tags in sents)
    assert out.decode() == want, (out.decode(), want)


@test
def tsv_two_tagsets():
    up, xp = reference_tags("upos"), reference_tags("xpos")
    text = "".join(" ".join(t) + "\n" for t, _ in up).encode()
    rc, out, err = run(["-m", REF, "-f", "tsv", "-s", "upos,xpos"], text)
    assert rc == 0, err
    want = "".join("".join(f"{w}\t{a}\t{b}\n" for w, a, b in zip(t, u, x)) + "\n"
                   for (t, u), (_, x) in zip(up, xp))
    assert out.decode() == want


@test
def vertical_input():
    rc, out, err = run(["-m", REF, "-i", "vertical", "-f", "tsv"], b"The\ndog\n\n\nruns\n")
    assert rc == 0, err
    blocks = out.decode().split("\n\n")
    assert [len(b.split("\n")) for b in blocks[:2]] == [2, 1], out


@test
def conllu_changes_only_upos_xpos():
    src = os.path.join(FIX, "sample.conllu")
    with open(src, "rb") as f:
        inp = f.read()
    rc, out, err = run(["-m", REF, "-i", "conllu", src])
    assert rc == 0, err
    a, b = inp.decode().split("\n"), out.decode().split("\n")
    assert len(a) == len(b), (len(a), len(b))
    tagged = 0
    for x, y in zip(a, b):
        cx, cy = x.split("\t"), y.split("\t")
        if len(cx) == 10 and cx[0].isdigit():
            assert cx[:3] + cx[5:] == cy[:3] + cy[5:], (x, y)
            tagged += 1
        else:
            assert x == y, (x, y)
    assert tagged == 11


@test
def json_probabilities():
    rc, out, err = run(["-m", REF, "-f", "json", "--top", "3", "--probs"], b"The dog runs\n")
    assert rc == 0, err
    obj = json.loads(out)
    assert obj["tokens"] == ["The", "dog", "runs"]
    for ts in ("upos", "xpos"):
        for tag, p, top in zip(obj["tags"][ts], obj["probs"][ts], obj["top"][ts]):
            probs = [q for _, q in top]
            assert len(top) == 3 and probs == sorted(probs, reverse=True)
            assert top[0][0] == tag and abs(top[0][1] - p) < 1e-6 and sum(probs) <= 1 + 1e-6


@test
def raw_text_tokenized():
    rc, out, err = run(["-m", REF, "--tokenize"], b"I can't go. Dr. Who came!\n")
    assert rc == 0, err
    words = [[t.rsplit("_", 1)[0] for t in l.split()] for l in out.decode().splitlines()]
    assert words == [["I", "ca", "n't", "go", "."], ["Dr.", "Who", "came", "!"]], words


@test
def sentences_auto_and_line():
    text = b"Hello there\nhow are you\n\nFine. Thanks\nBye now .\n"
    words = lambda out: [[t.rsplit("_", 1)[0] for t in l.split()] for l in out.decode().splitlines()]
    rc, out, err = run(["-m", REF, "-t"], text)  # auto: a sentence crosses a line break
    assert rc == 0, err
    assert words(out) == [["Hello", "there", "how", "are", "you"], ["Fine", "."],
                          ["Thanks", "Bye", "now", "."]], words(out)
    rc, out, err = run(["-m", REF, "-t", "--sentences", "line"], text)
    assert rc == 0, err
    assert words(out) == [["Hello", "there"], ["how", "are", "you"], ["Fine", "."], ["Thanks"],
                          ["Bye", "now", "."]], words(out)
    rc, same, err = run(["-m", REF, "-t", "--sentences", "auto"], text)
    rc2, auto, _ = run(["-m", REF, "-t"], text)
    assert rc == rc2 == 0 and same == auto, err
    expect(["-m", REF, "--sentences", "line"], 1, "--sentences is for raw text")
    expect(["-m", REF, "-t", "--sentences", "para"], 1, "expected auto or line")


@test
def eval_raw_aligns_by_characters():
    # Worked by hand. Running text "I'm fine Au revoir du monde." (one
    # paragraph; gold: two sentences, I'm one token and one word, du a
    # multiword token de|le that does not spell it). attntag splits I|'m (one
    # token, two words: neither is the gold word I'm) and finds one sentence.
    gold = tmp("raw-gold.conllu")
    rows = ["# newpar", "# text = I'm fine", "1\tI'm\tI\tPRON\tPRP\t_\t0\troot\t_\t_",
            "2\tfine\tfine\tADJ\tJJ\t_\t1\tamod\t_\t_", "",
            "# text = Au revoir du monde.", "1\tAu\tau\tADP\tIN\t_\t0\troot\t_\t_",
            "2\trevoir\trevoir\tVERB\tVB\t_\t1\tobj\t_\t_", "3-4\tdu\t_\t_\t_\t_\t_\t_\t_\t_",
            "3\tde\tde\tADP\tIN\t_\t5\tcase\t_\t_", "4\tle\tle\tDET\tDT\t_\t5\tdet\t_\t_",
            "5\tmonde\tmonde\tNOUN\tNN\t_\t1\tobl\t_\tSpaceAfter=No",
            "6\t.\t.\tPUNCT\t.\t_\t1\tpunct\t_\t_", ""]
    with open(gold, "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
    rc, out, err = run(["eval", "-m", REF, "--raw", "--json", gold])
    assert rc == 0, err
    r = json.loads(out)
    got = {k: (r[k]["gold"], r[k]["found"], r[k]["matched"]) for k in ("tokens", "sentences", "words")}
    assert got == {"tokens": (7, 7, 7), "sentences": (2, 1, 0), "words": (8, 8, 6)}, got
    assert r["characters"] == len("I'm fine Au revoir du monde.")
    assert abs(r["words"]["f1"] - 2 * 6 / 16) < 1e-9
    for ts in ("upos", "xpos"):
        c = r["tagsets"][ts]
        assert (c["gold"], c["found"]) == (8, 8) and 0 <= c["matched"] <= 6, c
    # each gold sentence on a line of its own: the sentences are found
    rc, out, err = run(["eval", "-m", REF, "--raw", "--json", "--sentences", "line", gold])
    assert rc == 0, err
    r = json.loads(out)
    assert (r["sentences"]["gold"], r["sentences"]["found"], r["sentences"]["matched"]) == (2, 2, 2)
    # without # text, the text is the tokens and SpaceAfter=No: the same
    bare = tmp("raw-bare.conllu")
    with open(bare, "w", encoding="utf-8") as f:
        f.write("\n".join(r for r in rows if not r.startswith("# text")) + "\n")
    rc, out2, err = run(["eval", "-m", REF, "--raw", "--json", "--sentences", "line", bare])
    assert rc == 0 and json.loads(out2)["words"] == r["words"], (out2, err)
    # the table names the same counts
    rc, out, err = run(["eval", "-m", REF, "--raw", gold])
    assert rc == 0 and "(gold 8, found 8, matched 6)" in out.decode(), out
    expect(["eval", "-m", REF, "--raw", "--pred", gold, gold], 1, "not with --pred")
    expect(["eval", "-m", REF, "--sentences", "line", gold], 1, "--sentences is for --raw")


def spell(block):
    """The text a CoNLL-U sentence's tokens spell: a multiword token's form
    stands for its words; a space after each token unless SpaceAfter=No."""
    text, skip_to = "", 0
    lines = [l.split("\t") for l in block.split("\n") if l and not l.startswith("#")]
    for i, c in enumerate(lines):
        if "." in c[0]:
            continue
        first, last = (int(x) for x in c[0].split("-")) if "-" in c[0] else (int(c[0]),) * 2
        if first <= skip_to:
            continue  # a word inside a multiword token
        skip_to = last
        text += c[1] + ("" if "SpaceAfter=No" in c[9] else " ")
    return text.rstrip(" ")


@test
def raw_text_to_conllu_round_trips():
    text = ("I don't know. She's here, isn't she?\nWe cannot stay: we're gonna\nmiss the "
            "7:45 train.\n\nJohn\u2019s dog can not swim.\n")
    src = tmp("story.txt")
    with open(src, "w", encoding="utf-8") as f:
        f.write(text)
    rc, out, err = run(["-m", REF, "-t", "-f", "conllu", src])
    assert rc == 0, err
    blocks = out.decode().strip("\n").split("\n\n")
    assert len(blocks) == 4, out
    texts = []
    for n, b in enumerate(blocks, 1):
        head = [l for l in b.split("\n") if l.startswith("#")]
        assert head[0] == f"# sent_id = {n}", head
        assert head[1].startswith("# text = "), head
        texts.append(head[1][len("# text = "):])
        assert spell(b) == texts[-1], (spell(b), texts[-1])
    # the sentences' texts are the input's, line breaks as spaces
    assert texts == ["I don't know.", "She's here, isn't she?",
                     "We cannot stay: we're gonna miss the 7:45 train.",
                     "John\u2019s dog can not swim."], texts
    ranges = [l.split("\t")[:2] for b in blocks for l in b.split("\n") if "-" in l.split("\t")[0]]
    assert ranges == [["2-3", "don't"], ["1-2", "She's"], ["5-6", "isn't"], ["2-3", "cannot"],
                      ["6-7", "we're"], ["8-9", "gonna"], ["1-2", "John\u2019s"]], ranges
    # "can not" written apart is two words, not a multiword token
    assert "\n4\tcan\t" in blocks[3] and "\n5\tnot\t" in blocks[3], blocks[3]
    # valid CoNLL-U for attntag's own reader, which checks the ranges, and
    # tagged again to the same bytes
    conllu = tmp("story.conllu")
    with open(conllu, "wb") as f:
        f.write(out)
    rc, again, err = run(["-m", REF, "-i", "conllu", conllu])
    assert rc == 0 and again == out, err


@test
def coprocess_line_buffered():
    p = subprocess.Popen([BIN, "-m", REF, "--line-buffered"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    try:
        for line in (b"The dog\n", b"runs .\n"):
            p.stdin.write(line)
            p.stdin.flush()
            reply = p.stdout.readline()  # must arrive before stdin is closed
            assert len(reply.split()) == len(line.split()), reply
    finally:
        p.stdin.close()
        p.wait(timeout=30)
    assert p.returncode == 0


def numbers(obj):
    """Every number in a JSON value, in order."""
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        return [obj]
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in numbers(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in numbers(v)]
    return []


def kernel_paths():
    """The kernel paths this processor runs, as `attntag info` reports them."""
    rc, out, err = run(["info", REF])
    assert rc == 0, err
    line = [l for l in out.decode().splitlines() if l.startswith("kernels: ")][0]
    paths = line.split("runs:")[1].strip(" )").split()
    assert "plain" in paths, line
    return paths


# sentences of every length around the fixture's chunk (max_len 16)
MIXED = "".join(" ".join(["the", "dog", "runs", "café", "."][i % 5] for i in range(n)) + "\n"
                for n in (3, 1, 17, 40, 7, 16, 2, 33, 12, 5) * 3).encode()


@test
def sentences_before_a_bad_one_are_written():
    # batched tagging: the sentences read before the bad line still come out
    rc, out, err = run(["-m", REF], b"the dog runs .\na cat .\nbad \xff here\nruns .\n")
    assert rc == 2 and ":3:" in err, err
    lines = out.decode().splitlines()
    assert len(lines) == 2 and lines[0].count("_") == 4 and lines[1].count("_") == 3, out


@test
def batches_and_kernel_paths_change_nothing():
    int8 = tmp("ref-int8.safetensors")
    rc, _, err = run(["convert", "--int8", REF, int8])
    assert rc == 0, err
    rc, out, err = run(["info", int8])
    assert rc == 0 and '"int8":\ttrue' in out.decode() and "(int8)" in out.decode(), out
    paths = kernel_paths()
    for model in (REF, int8):
        outs = {}
        for path in paths:
            env = {"ATTNTAG_KERNELS": path}
            args = ["-m", model, "-f", "json", "--probs", "-s", "all"]
            rc, batched, err = run(args, MIXED, env)
            assert rc == 0, err
            rc, alone, err = run(args + ["--line-buffered"], MIXED, env)
            assert rc == 0, err
            # one sentence at a time or many at once: the same bytes
            assert batched == alone, f"{model} {path}: batching changed the output"
            outs[path] = [json.loads(l) for l in batched.decode().splitlines()]
        tags = {p: [s["tags"] for s in o] for p, o in outs.items()}
        assert all(t == tags["plain"] for t in tags.values()), f"{model}: tags differ by path"
        # the paths differ in the last bits of the floats (vector widths, fused
        # multiply-adds): the same probabilities to far more than they print
        for path, o in outs.items():
            for a, b in zip(o, outs["plain"]):
                for x, y in zip(numbers(a), numbers(b)):
                    assert abs(x - y) <= 2e-4, f"{model} {path}: {x} against plain's {y}"
    rc, _, err = run(["convert", "--no-int8", int8, tmp("back.safetensors")])
    assert rc == 0, err
    rc, out, _ = run(["info", tmp("back.safetensors")])
    assert b'"int8"' not in out and b"32-bit floats" in out



def tensor_names(model):
    with open(model, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    return [k for k in json.loads(raw[8:8 + n]) if k != "__metadata__"]


@test
def stored_int8_packs_give_the_same_bytes_as_rounding_at_load():
    packs, nopacks = tmp("packs.safetensors"), tmp("nopacks.json")
    for out in (packs, nopacks):  # a JSON model keeps no packs: rounded when loaded
        rc, _, err = run(["convert", "--int8", REF, out])
        assert rc == 0, err
    names = tensor_names(packs)
    assert "layers.0.attn.q.int8" in names and "heads.xpos.int8_scale" in names, names
    rc, out, _ = run(["info", packs])
    assert b"weights stored rounded and packed" in out, out
    rc, out, _ = run(["info", nopacks])
    assert b"weights rounded when loaded" in out, out
    for path in kernel_paths():
        env = {"ATTNTAG_KERNELS": path}
        outs = []
        for model in (packs, nopacks):
            rc, o, err = run(["-m", model, "-f", "tsv", "-s", "all", "--probs"], MIXED, env)
            assert rc == 0, err
            outs.append(o)
        assert outs[0] == outs[1], f"{path}: stored packs changed the output"
    # a model run in floats again stores no packs
    back = tmp("floats-again.safetensors")
    rc, _, err = run(["convert", "--no-int8", packs, back])
    assert rc == 0 and not [n for n in tensor_names(back) if ".int8" in n], err

def ewt(name):
    """A file of UD English EWT: data/ud-en-ewt (make data), else the shared copy
    beside the repository; None if neither is there."""
    for d in (os.path.join(ROOT, "data", "ud-en-ewt"),
              os.path.join(os.path.dirname(ROOT), "shared", "data", "ud-en-ewt")):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


@test
def kernel_paths_agree_on_ewt_dev():
    # the bundled model on EWT dev: every path gives the plain path's tags for
    # at least 99.99% of the tokens
    dev = ewt("en_ewt-ud-dev.conllu")
    if not dev:
        print("SKIP kernel_paths_agree_on_ewt_dev: UD English EWT not found (make data)")
        return
    model = os.path.join(ROOT, "models", "en-ewt.safetensors")
    tags = {}
    for path in kernel_paths():
        rc, out, err = run(["-m", model, "-i", "conllu", "-f", "tsv", "-s", "all", dev],
                           env={"ATTNTAG_KERNELS": path})
        assert rc == 0, err
        tags[path] = [line.split("\t")[1:] for line in out.decode().splitlines() if line]
    n = len(tags["plain"])
    assert n > 25000, n
    for path, rows in tags.items():
        same = sum(a == b for a, b in zip(rows, tags["plain"]))
        assert len(rows) == n and same >= 0.9999 * n, f"{path}: {same} of {n} tokens as plain"
        print(f"kernel path {path}: the plain path's tags for {same} of {n} EWT dev tokens")


# --- model files -------------------------------------------------------------------------

@test
def convert_round_trip_is_exact():
    a, b, c = tmp("rt.safetensors"), tmp("rt.json"), tmp("rt2.safetensors")
    for args in (["convert", REF, a], ["convert", a, b], ["convert", b, c]):
        rc, _, err = run(args)
        assert rc == 0, err
    with open(a, "rb") as f1, open(c, "rb") as f2:
        assert f1.read() == f2.read()
    with open(REF) as f1, open(b) as f2:
        t1, t2 = json.load(f1)["tensors"], json.load(f2)["tensors"]
    assert t1.keys() == t2.keys()
    for name in t1:  # the same float32 values, however the digits are written
        f32 = lambda xs: struct.pack(f"<{len(xs)}f", *xs)
        assert f32(t1[name]["data"]) == f32(t2[name]["data"]), name


@test
def independent_safetensors_reader():
    out = tmp("read.json")
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "read_safetensors.py"),
                    tmp("ref.safetensors") if os.path.exists(tmp("ref.safetensors"))
                    else (ref_binary() and tmp("ref.safetensors")), out], check=True)
    with open(out) as f:
        got = json.load(f)
    with open(REF) as f:
        ref = json.load(f)
    for name, t in ref["tensors"].items():
        g = got["tensors"][name]
        assert g["shape"] == t["shape"] and g["data"] == t["data"], name
    vocab = bytes(got["tensors"]["vocab"]["data"]).split(b"\0")[:-1]
    assert [v.decode() for v in vocab] == ref["vocab"]
    assert json.loads(got["metadata"]["attntag.config"]) == ref["config"]


def with_lexicon_words(old, new, sign=False):
    """The fixture as safetensors with bytes `old` of lexicon.words replaced
    by `new` (same length: offsets stay); sign: with the lexicon's checksum
    made to match (the header keeps its length: 8 hex digits for 8)."""
    data = ref_binary()
    n, header = header_of(data)
    s, e = header["lexicon.words"]["data_offsets"]
    base = 8 + n
    words = data[base + s:base + e]
    assert old in words and len(old) == len(new)
    data = data[:base + s] + words.replace(old, new, 1) + data[base + e:]
    if sign:
        crc = 0
        for name in ("lexicon.words", "lexicon.bits", "lexicon.starts", "lexicon.index"):
            b, e = header[name]["data_offsets"]
            crc = crc32c(data[base + b:base + e], crc)
        was = header["__metadata__"]["attntag.lexicon.crc32c"].encode()
        data = data[:base].replace(b'"attntag.lexicon.crc32c":"' + was,
                                   b'"attntag.lexicon.crc32c":"%08x' % crc) + data[base:]
    return data


@test
def lexicon_strings_are_checked():
    # the file's checksum catches damage to the words
    expect(["info", damaged("lex.safetensors", with_lexicon_words(b"dog\x00", b"\x00og\x00"))], 2,
           "attntag.lexicon.crc32c says")
    # under a matching checksum, words are checked where they are written out
    # (convert splits them, sixteen bytes at a time); tagging stays inside them
    cases = [(b"dog\x00", b"\x00og\x00", "is empty"),                   # an empty string
             (b"caf\xc3\xa9", b"caf\xc3(", "not valid UTF-8"),           # a bad continuation
             (b"\xe6\x88\x91", b"\xe6\x88\x00", "not valid UTF-8"),      # cut by a NUL
             (b"dog\x00", b"dogs", "strings, expected 10")]               # one string fewer
    for old, new, needle in cases:
        path = damaged("lex.safetensors", with_lexicon_words(old, new, sign=True))
        rc, out, err = run(["-m", path], b"cat dog caf\xc3\xa9\n")
        assert rc == 0 and out.count(b"_") == 3, err
        expect(["convert", path, tmp("lex-out.json")], 2, needle)
    # and a changed but valid word is looked up through the file's table
    path = damaged("lex-ok.safetensors", with_lexicon_words(b"dog\x00", b"cat\x00", sign=True))
    rc, out, err = run(["-m", path, "-f", "json", "-s", "all"], b"cat dog\n")
    assert rc == 0, err


@test
def info_reports_counts():
    rc, out, err = run(["info", REF])
    assert rc == 0, err
    with open(REF) as f:
        ref = json.load(f)
    params = sum(len(t["data"]) for t in ref["tensors"].values())
    text = out.decode()
    assert f"vocabulary: {len(ref['vocab'])} words" in text
    assert f"parameters: {params}" in text
    assert f"tagset upos ({len(ref['tags']['upos'])} tags)" in text


@test
def model_from_environment():
    rc, out, err = run([], b"The dog\n", env={"ATTNTAG_MODEL": REF})
    assert rc == 0 and out.count(b"_") == 2, err


@test
def installed_binary_finds_its_model():
    dest = tmp("dest")
    # a plain build whatever make check is running (MAKEFLAGS would pass SANITIZE=1 down)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    subprocess.run(["make", "-s", "-C", ROOT, "install", "SANITIZE=", f"DESTDIR={dest}",
                    "PREFIX=/opt/at"], check=True, stdout=subprocess.DEVNULL, env=env)
    binary = os.path.join(dest, "opt", "at", "bin", "attntag")
    assert os.path.exists(os.path.join(dest, "opt", "at", "share", "man", "man1", "attntag.1"))
    rc, out, err = run([], b"Hello world .\n", binary=binary)
    assert rc == 0 and len(out.split()) == 3, err
    # the library, its header and pkg-config file: the example builds and runs against them
    lib = os.path.join(dest, "opt", "at", "lib")
    assert os.path.islink(os.path.join(lib, "libattntag.so.0"))
    pc = dict(env, PKG_CONFIG_SYSROOT_DIR=dest, PKG_CONFIG_PATH=os.path.join(lib, "pkgconfig"))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "attntag"], env=pc, check=True,
                           capture_output=True, text=True).stdout.split()
    prog = tmp("tag_two_threads")
    subprocess.run(["cc", os.path.join(ROOT, "examples", "tag_two_threads.c")] + flags +
                   ["-o", prog], check=True)
    model = os.path.join(dest, "opt", "at", "share", "attntag", "en-ewt.safetensors")
    p = subprocess.run([prog, model], capture_output=True, env=dict(env, LD_LIBRARY_PATH=lib))
    assert p.returncode == 0, p.stderr
    rc, want, err = run(["-m", model], b"The quick brown fox jumps over the lazy dog .\n"
                        b"I saw her duck .\n", binary=binary)
    assert p.stdout == want, (p.stdout, want)
    assert "libattntag.so.0" in subprocess.run(["ldd", prog], capture_output=True, text=True,
                                               env=dict(env, LD_LIBRARY_PATH=lib)).stdout


# --- training -------------------------------------------------------------------------

TINY = ["--train", os.path.join(FIX, "tiny_train.conllu"), "--dev", os.path.join(FIX, "tiny_dev.conllu"),
        "--dim", "16", "--heads", "2", "--ffn", "32", "--char-buckets", "256", "--char-dim", "8",
        "--max-len", "16", "--min-count", "1", "--batch-tokens", "120", "--lr", "0.005", "--ema", "0.9"]


@test
def train_writes_a_working_model():
    out, log = tmp("tiny.safetensors"), tmp("tiny.jsonl")
    rc, _, err = run(["train"] + TINY + ["-o", out, "--epochs", "3", "--log", log, "-q"])
    assert rc == 0, err
    with open(log) as f:
        curve = [json.loads(l) for l in f]
    assert [c["epoch"] for c in curve] == [1, 2, 3] and all("upos" in c["dev"] for c in curve)
    rc, text, err = run(["-m", out, "-s", "upos,xpos"], b"the dog saw a cat .\n")
    assert rc == 0 and len(text.split()) == 6, err
    assert not os.path.exists(out + ".ckpt")  # finished: no checkpoint is left behind


@test
def train_arch_presets_draw_the_figures():
    # each preset trains, tags, and is named by info; the tensors say which blocks mix how
    want = {"fc": ("figure: fc (A", 2, []), "window": ("figure: window (B", 2, ["window.weight"]),
            "attn": ("figure: attn (C", 1, ["attn.q.weight"]),
            "stacked": ("figure: stacked (D", 2, ["attn.q.weight"])}
    for arch, (figure, blocks, tensors) in want.items():
        out = tmp(f"arch-{arch}.json")
        rc, _, err = run(["train"] + TINY + ["-o", out, "--epochs", "1", "--arch", arch, "-q"])
        assert rc == 0, (arch, err)
        rc, info, err = run(["info", out])
        assert rc == 0 and figure in info.decode() and f"; {blocks} block" in info.decode(), info
        with open(out) as f:
            names = list(json.load(f)["tensors"])
        for l in range(blocks):
            for t in tensors:
                assert f"layers.{l}.{t}" in names, (arch, l, t)
        if arch == "fc":
            assert not any(".attn" in n or ".window." in n for n in names), names
        rc, text, err = run(["-m", out], b"the dog saw a cat .\n")
        assert rc == 0 and len(text.split()) == 6, err
    # the options after --arch refine it, in any order
    out = tmp("arch-window2.json")
    rc, _, err = run(["train"] + TINY + ["-o", out, "--epochs", "1", "--window", "2", "--arch",
                                         "window", "--layers", "1", "-q"])
    assert rc == 0, err
    with open(out) as f:
        model = json.load(f)
    assert model["config"]["window"] == [2] and model["config"]["mixer"] == ["window"]
    assert len(model["tensors"]["layers.0.window.weight"]["data"]) == 16 * 5 * 16
    expect(["train"] + TINY + ["-o", tmp("m.safetensors"), "--arch", "cnn"], 1,
           "no figure \"cnn\"")
    # an abbreviation, as getopt_long takes it, is --arch too
    out = tmp("arch-abbreviated.json")
    rc, _, err = run(["train"] + TINY + ["-o", out, "--epochs", "1", "--arc", "fc", "-q"])
    assert rc == 0, err
    rc, info, err = run(["info", out])
    assert "figure: fc (A" in info.decode(), info
    expect(["train"] + TINY + ["-o", tmp("m.safetensors"), "--arch", "window", "--window", "0"],
           1, "a window mixer needs 1 to 16")


@test
def train_usage_and_data_errors():
    expect(["train", "--dev", "x", "-o", "y"], 1, "needs --train")
    expect(["train"] + TINY + ["-o", tmp("m.safetensors"), "--lr", "abc"], 1, "lr: expected a number")
    expect(["train"] + TINY + ["-o", tmp("m.safetensors"), "--window", "x"], 1, "--window")
    expect(["train"] + TINY + ["-o", tmp("m.safetensors"), "--tagsets", "upos:99"], 1, "--tagsets")
    expect(["train"] + TINY + ["-o", tmp("m.safetensors"), "--window", ""], 1, "--window")
    expect(["train"] + TINY + ["-o", tmp("m.safetensors"), "--lr", "0"], 1, "lr: expected")
    cfg = damaged("cfg.json", b'{"no_such_setting": 1}')
    expect(["train"] + TINY + ["-o", tmp("m.safetensors"), "--config=" + cfg], 1, "no_such_setting")
    bad = damaged("bad.conllu", b"1\tdog\tdog\tNOUN\t_\t_\t0\troot\t_\t_\n\n")
    args = ["train"] + TINY + ["-o", tmp("m.safetensors")]
    args[args.index("--train") + 1] = bad
    expect(args, 2, bad + ":1: no xpos tag")


@test
def ctrl_c_checkpoints_and_resume_finishes():
    out, ck = tmp("int.safetensors"), tmp("int.ckpt")
    args = ["train"] + TINY + ["-o", out, "--checkpoint", ck, "--epochs", "100000",
                               "--patience", "100000", "-q"]
    p = subprocess.Popen([BIN] + args, stderr=subprocess.PIPE)
    import time
    time.sleep(1.5)
    p.send_signal(2)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, (p.returncode, err)
    assert b"checkpoint written" in err and os.path.exists(ck), err
    # the checkpoint is itself a usable model
    rc, text, e2 = run(["-m", ck], b"the dog saw a cat .\n")
    assert rc == 0 and len(text.split()) == 6, e2
    rc, info, _ = run(["info", ck])
    assert rc == 0


# --- explain ---------------------------------------------------------------------------

@test
def explain_json_is_the_forward_pass():
    # the weights are those PyTorch computed for the reference model, the tags
    # and probabilities those tagging prints
    with open(os.path.join(FIX, "ref_pre.expect.json")) as f:
        sent = json.load(f)["sentences"][0]
    line = (" ".join(sent["tokens"]) + "\n").encode()
    rc, out, err = run(["explain", "-m", REF, "-f", "json"], line)
    assert rc == 0, err
    got = json.loads(out)
    assert got["tokens"] == sent["tokens"] and got["sentence"] == 1
    for l, layer in enumerate(got["layers"]):
        assert layer["layer"] == l + 1 and layer["mixer"] == "attention"
        for h, head in enumerate(layer["weights"]):
            for i, row in enumerate(head):
                for j, w in enumerate(row):
                    want = sent["attention"][l][h][i][j]
                    assert abs(w - want) <= 1e-5 + 1e-4 * abs(want), (l, h, i, j, w, want)
    rc, tagged, err = run(["-m", REF, "-f", "json", "--probs"], line)
    assert rc == 0, err
    tagged = json.loads(tagged)
    assert got["tags"] == tagged["tags"], (got["tags"], tagged["tags"])
    for ts, probs in tagged["probs"].items():
        assert all(abs(a - b) < 1e-5 for a, b in zip(got["probs"][ts], probs)), ts
    # --layer keeps one layer; --sentence picks one
    rc, out, err = run(["explain", "-m", REF, "-f", "json", "--layer", "2", "-n", "2"],
                       b"a b\n" + line)
    assert rc == 0, err
    got = json.loads(out)
    assert [L["layer"] for L in got["layers"]] == [2] and got["sentence"] == 2, got


@test
def explain_page_has_a_map_per_head():
    rc, page, err = run(["explain", "-m", REF], b"The dog runs .\nIt runs to Paris .\n")
    assert rc == 0, err
    page = page.decode()
    with open(REF) as f:
        cfg = json.load(f)["config"]
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count('class="heatmap"') == 2 * cfg["layers"] * cfg["heads"]
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert page.count("<table") == 2 and "<td>Paris</td>" in page
    # markup in a token is text, not markup
    rc, page, err = run(["explain", "-m", REF], b"<b>x</b> & \"y\" .\n")
    assert rc == 0 and "&lt;b&gt;x&lt;/b&gt;" in page.decode() and "<b>" not in page.decode()
    # an architecture without attention draws its fixed receptive field
    out = tmp("explain-window.json")
    rc, _, err = run(["train"] + TINY + ["-o", out, "--epochs", "1", "--arch", "window",
                                         "--layers", "1", "--window", "1", "-q"])
    assert rc == 0, err
    rc, js, err = run(["explain", "-m", out, "-f", "json"], b"the dog saw a cat .\n")
    assert rc == 0, err
    layer = json.loads(js)["layers"][0]
    assert layer["mixer"] == "window" and layer["window"] == 1 and "weights" not in layer
    rc, svg, err = run(["explain", "-m", out, "-f", "svg"], b"the dog saw a cat .\n")
    assert rc == 0 and svg.count(b'class="heatmap"') == 1 and b"fixed field" in svg, err
    # 6 x 6 cells, of which the 16 within +-1 are full and the rest empty
    cells = svg.split(b'class="heatmap"')[1]
    assert cells.count(b'fill="#08306b"') == 16 and cells.count(b'fill="#ffffff"') == 20


@test
def explain_output_is_well_formed_whatever_the_text():
    import xml.etree.ElementTree as ET
    # tokens with markup, quotes, backslashes and a control character; tag
    # names (from the model file) with a quote and a backslash
    with open(REF) as f:
        model = json.load(f)
    model["tags"]["xpos"] = ['N"N', "NN\\S"] + model["tags"]["xpos"][2:]
    odd = tmp("odd-tags.json")
    with open(odd, "w") as f:
        json.dump(model, f)
    line = b'x\x01y "q" <b> a&b\\c \xe6\x88\x91\n'
    rc, out, err = run(["explain", "-m", odd, "-f", "json"], line)
    assert rc == 0, err
    got = json.loads(out)
    assert got["tokens"] == ["x\x01y", '"q"', "<b>", "a&b\\c", "\u6211"], got["tokens"]
    rc, svg, err = run(["explain", "-m", odd, "-f", "svg"], line)
    assert rc == 0, err
    ET.fromstring(svg)  # well-formed XML: the control character is shown as U+FFFD
    # weights so large that softmax overflows: an error, not a map of NaNs
    # (every command and form: tests/overflow_test.py)
    for name, t in model["tensors"].items():
        if name in ("embed.word", "layers.0.attn.q.weight", "layers.0.attn.k.weight"):
            t["data"] = [v * 3e37 for v in t["data"]]
    huge = tmp("huge.json")
    with open(huge, "w") as f:
        json.dump(model, f)
    out = expect(["explain", "-m", huge, "-f", "json"], 2, "are not finite numbers",
                 b"the dog dogs a\n")
    assert out == b"", out


@test
def explain_errors():
    expect(["explain", "-m", REF, "--layer", "3"], 2, "layers 1 to 2, not 3", b"a b\n")
    rc, out, _ = run(["explain", "-m", REF, "--layer", "3"], b"a b\n")
    assert out == b"", out  # nothing half written
    expect(["explain", "-m", REF, "-f", "svg"], 2, "one sentence", b"a b\nc d\n")
    expect(["explain", "-m", REF, "-n", "3"], 2, "has 2 sentences, not 3", b"a b\nc d\n")
    expect(["explain", "-m", REF, "-f", "png"], 1, "--format")
    expect(["explain", "-m", REF, "-n", "0"], 1, "--sentence")
    with open(REF) as f:
        max_len = json.load(f)["config"]["max_len"]
    expect(["explain", "-m", REF], 2, f"most {max_len}", (" x" * (max_len + 1)).encode() + b"\n")
    out = tmp("page.html")
    rc, _, err = run(["explain", "-m", REF, "-o", out], b"a b\n")
    assert rc == 0 and open(out).read().count('class="heatmap"') > 0, err


# --- eval ------------------------------------------------------------------------------

def tiny_model():
    out = tmp("eval.safetensors")
    if not os.path.exists(out):
        rc, _, err = run(["train"] + TINY + ["-o", out, "--epochs", "2", "-q"])
        assert rc == 0, err
    return out


@test
def calibrate_fits_temperatures_and_probabilities_follow():
    model, gold = tiny_model(), os.path.join(FIX, "tiny_dev.conllu")
    out = tmp("calibrated.safetensors")
    rc, o, err = run(["calibrate", "-m", model, "--dev", gold, "-o", out])
    assert rc == 0, err
    assert o.decode().count("temperature") == 2 and "calibration error" in o.decode(), o
    rc, info, err = run(["info", out])
    assert rc == 0, err
    temps = json.loads(info.decode().split("\nfigure: ")[0].split("config: ", 1)[1])["temperature"]
    assert len(temps) == 2 and all(0.01 <= t <= 100 for t in temps), temps
    text = b"The dog runs .\nA cat sleeps on the mat .\n"
    # the same tags; each chosen tag's probability is softmax(logits / T), worked
    # out here from the uncalibrated model's probabilities of every tag
    rc, raw, err = run(["-m", model, "-f", "json", "--top", "100"], text)
    assert rc == 0, err
    rc, cal, err = run(["-m", out, "-f", "json", "--probs"], text)
    assert rc == 0, err
    for r, c in zip(raw.decode().splitlines(), cal.decode().splitlines()):
        r, c = json.loads(r), json.loads(c)
        assert r["tags"] == c["tags"], (r["tags"], c["tags"])
        for k, ts in enumerate(["upos", "xpos"]):
            for i, top in enumerate(r["top"][ts]):
                z = sum(p ** (1 / temps[k]) for _, p in top if p > 0)
                want = top[0][1] ** (1 / temps[k]) / z
                assert abs(c["probs"][ts][i] - want) < 1e-4, (ts, i, c["probs"][ts][i], want)
    # eval reports the calibration error, and it is the one calibrate printed
    rc, ev, err = run(["eval", "-m", out, "--json", gold])
    assert rc == 0, err
    cal_err = json.loads(ev)["tagsets"]["upos"]["calibration"]["error"]
    printed = float(o.decode().split("\n")[0].split("-> ")[-1].rstrip("%"))
    assert abs(100 * cal_err - printed) < 0.01, (cal_err, printed)
    # tsv: the probabilities after the tags
    rc, tsv, err = run(["-m", out, "-f", "tsv", "-s", "upos,xpos", "--probs"], b"The dog\n")
    assert rc == 0, err
    cols = tsv.decode().split("\n")[0].split("\t")
    assert len(cols) == 5 and all(0 < float(p) <= 1 for p in cols[3:]), cols
    expect(["calibrate", "-m", model, "-o", out], 1, "needs --dev")
    expect(["calibrate", "-m", model, "--dev", gold, "-o", out, "--tagsets", "upos"], 1,
           "NAME:COLUMN")
    expect(["calibrate", "-m", model, "--dev", tmp("none.conllu"), "-o", out], 2, "cannot open")


@test
def min_prob_marks_the_tokens_to_review():
    text = b"The dog runs .\nA cat sleeps on the mat today .\nTHE big Dog ran to Paris .\n"
    rc, js, err = run(["-m", REF, "-f", "json", "--probs", "-s", "upos,xpos"], text)
    assert rc == 0, err
    probs = [json.loads(l)["probs"] for l in js.decode().splitlines()]
    allp = sorted(p for s in probs for ts in s.values() for p in ts)
    cut = allp[len(allp) // 2]  # about half the tokens below it in some tag set
    want = [[min(s["upos"][i], s["xpos"][i]) < cut for i in range(len(s["upos"]))]
            for s in probs]
    assert any(any(w) for w in want) and not all(all(w) for w in want), want
    p = ["--min-prob", repr(cut), "-s", "upos,xpos"]
    rc, out, err = run(["-m", REF, "-f", "json"] + p, text)
    assert rc == 0, err
    assert [json.loads(l)["review"] for l in out.decode().splitlines()] == want
    rc, out, err = run(["-m", REF] + p, text)
    assert rc == 0, err
    assert [[t.endswith("?") for t in l.split()] for l in out.decode().splitlines()] == want
    rc, out, err = run(["-m", REF, "-f", "tsv"] + p, text)
    assert rc == 0, err
    got = [[l.split("\t")[-1] == "?" for l in b.split("\n")]
           for b in out.decode().strip("\n").split("\n\n")]
    assert got == want and all(len(l.split("\t")) == 4 for l in out.decode().split("\n") if l)
    rc, out, err = run(["-m", REF, "-f", "conllu"] + p, text)
    assert rc == 0, err
    got = [[l.split("\t")[9] == "Review=Yes" for l in b.split("\n")]
           for b in out.decode().strip("\n").split("\n\n")]
    assert got == want, got
    expect(["-m", REF, "--min-prob", "0"], 1, "--min-prob")
    expect(["-m", REF, "--min-prob", "1.5"], 1, "--min-prob")


def independent_scores(gold, pred, vocab=None):
    args = [sys.executable, os.path.join(ROOT, "tests", "score.py"), gold, pred, "upos:4", "xpos:5"]
    if vocab:
        args += ["--vocab", vocab]
    return json.loads(subprocess.run(args, check=True, capture_output=True).stdout)


@test
def eval_agrees_with_independent_scorer():
    model, gold = tiny_model(), os.path.join(FIX, "tiny_dev.conllu")
    pred = tmp("pred.conllu")
    rc, out, err = run(["-m", model, "-i", "conllu", gold])
    assert rc == 0, err
    with open(pred, "wb") as f:
        f.write(out)
    vocab = tmp("vocab.txt")
    conv = tmp("eval.json")
    assert run(["convert", model, conv])[0] == 0
    with open(conv) as f, open(vocab, "w") as v:
        v.write("\n".join(json.load(f)["vocab"]) + "\n")
    want = independent_scores(gold, pred, vocab)
    for args in (["eval", "-m", model, "--json", gold],
                 ["eval", "-m", model, "--json", "--pred", pred, gold]):
        rc, out, err = run(args)
        assert rc == 0, err
        got = json.loads(out)
        assert got["sentences"] == want["sentences"]
        for ts in ("upos", "xpos"):
            g, w = got["tagsets"][ts], want["tagsets"][ts]
            for key in ("accuracy", "sentence_accuracy", "known_accuracy", "unknown_accuracy"):
                assert abs(g[key] - w[key]) < 1e-12, (args, ts, key, g[key], w[key])
            for tag, sc in w["per_tag"].items():
                for key in ("precision", "recall", "f1", "support"):
                    assert abs(g["per_tag"][tag][key] - sc[key]) < 1e-12, (ts, tag, key)
    # the table prints the same accuracy, to its last digit
    rc, table, _ = run(["eval", "-m", model, gold])
    acc = 100 * want["tagsets"]["upos"]["accuracy"]
    assert f"upos: accuracy {acc:.2f}%" in table.decode(), table


@test
def eval_tsv_predictions_and_confusion_csv():
    model, gold = tiny_model(), os.path.join(FIX, "tiny_dev.conllu")
    rc, out, err = run(["-m", model, "-i", "conllu", "-f", "tsv", "-s", "upos,xpos", gold])
    pred = tmp("pred.tsv")
    with open(pred, "wb") as f:
        f.write(out)
    csv = tmp("conf.csv")
    rc, out, err = run(["eval", "-m", model, "--json", "--pred", pred, "--confusion", csv, gold])
    assert rc == 0, err
    want = independent_scores(gold, pred)
    got = json.loads(out)
    assert abs(got["tagsets"]["xpos"]["accuracy"] - want["tagsets"]["xpos"]["accuracy"]) < 1e-12
    with open(csv) as f:
        rows = f.read().splitlines()
    assert rows[0] == "tagset,gold,predicted,count"
    total = sum(int(r.rsplit(",", 1)[1]) for r in rows[1:] if r.startswith("upos,"))
    assert total == sum(w["support"] for w in want["tagsets"]["upos"]["per_tag"].values())


@test
def eval_refuses_misaligned_files():
    model, gold = tiny_model(), os.path.join(FIX, "tiny_dev.conllu")
    rc, out, _ = run(["-m", model, "-i", "conllu", "-f", "tsv", "-s", "upos,xpos", gold])
    lines = out.decode().split("\n")
    lines[1] = "cow\tNOUN\tNN"  # the second token of the first sentence
    bad = damaged("bad.tsv", "\n".join(lines).encode())
    expect(["eval", "-m", model, "--pred", bad, gold], 2, "do not line up")
    short = damaged("short.tsv", "\n".join(out.decode().split("\n")[:20]).encode() + b"\n")
    expect(["eval", "-m", model, "--pred", short, gold], 2, "do not line up")



# --- output paths: replace regular files atomically, never a device or a link ----

def scratch(name):
    """An empty directory of its own under TMP."""
    d = tmp(name)
    shutil.rmtree(d, ignore_errors=True)
    os.mkdir(d)
    return d


def leftovers(d, keep):
    """Files in d other than keep: a temporary left behind shows here."""
    return sorted(set(os.listdir(d)) - set(keep))


@test
def output_to_devices_is_written_in_place():
    if os.geteuid() != 0:  # mknod needs root; the FIFO test below covers the rest
        print("SKIP output_to_devices_is_written_in_place: mknod needs root")
        return
    import stat
    d = scratch("dev")
    full, null = os.path.join(d, "full"), os.path.join(d, "null")
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # as /dev/full
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # as /dev/null
    expect(["convert", REF, full], 2, "No space left on device")
    assert run(["convert", REF, null])[0] == 0
    for node, minor in ((full, 7), (null, 3)):
        st = os.lstat(node)
        assert stat.S_ISCHR(st.st_mode) and os.minor(st.st_rdev) == minor, f"{node} replaced"
    assert leftovers(d, ["full", "null"]) == []


@test
def output_to_fifo_and_stdout_is_a_stream():
    import threading
    d = scratch("fifo")
    fifo = os.path.join(d, "pipe")
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()), daemon=True)
    reader.start()
    rc, _, err = run(["convert", REF, fifo])
    reader.join(timeout=60)
    if reader.is_alive():  # still waiting on a FIFO nobody wrote: let it go
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert rc == 0, err
    assert got == [ref_binary()], "the FIFO's reader did not get the model"
    assert os.path.exists(fifo) and not os.path.isfile(fifo), "the FIFO was replaced"
    assert leftovers(d, ["pipe"]) == []
    rc, out, err = run(["convert", REF, "/dev/stdout"])  # standard output is a pipe here
    assert rc == 0 and out == ref_binary(), err


@test
def output_through_links_replaces_the_target():
    d = scratch("links")
    os.mkdir(os.path.join(d, "real"))
    target = os.path.join(d, "real", "model")
    with open(target, "w") as f:
        f.write("old")
    os.chmod(target, 0o640)
    os.symlink("real/model", os.path.join(d, "link"))       # relative to the link's directory
    os.symlink("link", os.path.join(d, "link2"))            # a chain
    os.symlink("real/new", os.path.join(d, "dangling"))     # target not there yet
    os.symlink("loop2", os.path.join(d, "loop1"))
    os.symlink("loop1", os.path.join(d, "loop2"))
    assert run(["convert", REF, os.path.join(d, "link2")])[0] == 0
    assert os.path.islink(os.path.join(d, "link")) and os.path.islink(os.path.join(d, "link2"))
    with open(target, "rb") as f:
        assert f.read() == ref_binary()
    assert os.stat(target).st_mode & 0o7777 == 0o640, oct(os.stat(target).st_mode)
    assert run(["convert", REF, os.path.join(d, "dangling")])[0] == 0
    assert os.path.islink(os.path.join(d, "dangling"))
    with open(os.path.join(d, "real", "new"), "rb") as f:
        assert f.read() == ref_binary()
    expect(["convert", REF, os.path.join(d, "loop1")], 2, "symbolic links")
    assert leftovers(os.path.join(d, "real"), ["model", "new"]) == []
    assert leftovers(d, ["real", "link", "link2", "dangling", "loop1", "loop2"]) == []


@test
def output_mode_kept_or_from_umask():
    d = scratch("mode")
    old = os.path.join(d, "old.safetensors")
    with open(old, "w") as f:
        f.write("x")
    os.chmod(old, 0o604)
    new = os.path.join(d, "new.safetensors")
    mask = os.umask(0o027)
    try:
        assert run(["convert", REF, old])[0] == 0
        assert run(["convert", REF, new])[0] == 0
    finally:
        os.umask(mask)
    assert os.stat(old).st_mode & 0o7777 == 0o604
    assert os.stat(new).st_mode & 0o7777 == 0o640  # 0666 less the umask, as any new file


@test
def output_paths_checked_before_work():
    d = scratch("early")
    missing = os.path.join(d, "no", "such", "dir", "m.safetensors")
    expect(["convert", REF, missing], 2, "cannot create a file in " + os.path.join(d, "no", "such", "dir"))
    expect(["convert", REF, d], 2, "is a directory")
    # a training run fails on its output path at once, not after its epochs
    rc, out, err = run(["train"] + TINY + ["-o", missing, "--epochs", "50"])
    assert rc == 2 and "cannot create a file in" in err and "epoch" not in err, err
    rc, out, err = run(["train"] + TINY + ["-o", os.path.join(d, "m.st"), "--checkpoint", missing,
                                           "--epochs", "50"])
    assert rc == 2 and "cannot create a file in" in err and "epoch" not in err, err
    rc, out, err = run(["train"] + TINY + ["-o", os.path.join(d, "m.st"), "--log", missing,
                                           "--epochs", "50"])
    assert rc == 2 and "cannot create a file in" in err and "epoch" not in err, err
    model = tiny_model()
    expect(["eval", "-m", model, "--confusion", missing, os.path.join(FIX, "tiny_dev.conllu")], 2,
           "cannot create a file in")
    assert leftovers(d, []) == []



@test
def killed_writer_leaves_the_old_file():
    d = scratch("kill")
    big = os.path.join(ROOT, "models", "en-ewt.safetensors")
    want = os.path.join(d, "want.json")
    assert run(["convert", big, want])[0] == 0
    with open(want, "rb") as f:
        new = f.read()
    out = os.path.join(d, "model.json")
    mid_write = 0
    for attempt in range(20):
        with open(out, "wb") as f:
            f.write(b"OLD")
        for name in os.listdir(d):
            if ".tmp" in name:
                os.unlink(os.path.join(d, name))
        p = subprocess.Popen([BIN, "convert", big, out], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        # kill as soon as the temporary file appears: mid-write (42 MB of JSON)
        while p.poll() is None and not any(".tmp" in n for n in os.listdir(d)):
            pass
        p.kill()  # SIGKILL: no handler runs
        p.wait()
        with open(out, "rb") as f:
            got = f.read()
        assert got in (b"OLD", new), f"attempt {attempt}: {len(got)} bytes under the final name"
        if got == b"OLD" and any(".tmp" in n for n in os.listdir(d)):
            mid_write += 1  # killed while the temporary was being written
        if mid_write >= 3:
            break
    assert mid_write >= 1, "no kill landed while the model was being written"


@test
def tag_output_errors_are_reported():
    rc, out, err = run(["-m", REF, "-f", "json", "--probs"], b"The cat sat .\n" * 20000)
    assert rc == 0, err
    # standard output closed early, as by `| head -1`: no message
    p = subprocess.Popen(f"'{BIN}' -m '{REF}' | head -c 1 > /dev/null", shell=True,
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    _, e = p.communicate(b"The cat sat .\n" * 200000, timeout=120)
    assert e == b"", e
    if os.geteuid() == 0:  # a full device, made in a scratch directory
        import stat
        d = scratch("full-out")
        full = os.path.join(d, "full")
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        with open(full, "wb") as f:
            r = subprocess.run([BIN, "-m", REF], input=b"The cat sat .\n" * 1000, stdout=f,
                               stderr=subprocess.PIPE)
        assert r.returncode == 2 and b"No space left on device" in r.stderr, r.stderr
        for args in (["info", REF], ["--version"], ["--help"], ["convert", "--help"],
                     ["eval", "-m", tiny_model(), os.path.join(FIX, "tiny_dev.conllu")]):
            with open(full, "wb") as f:
                r = subprocess.run([BIN] + args, stdout=f, stderr=subprocess.PIPE)
            assert r.returncode == 2 and r.stderr.count(b"No space left on device") == 1, \
                (args, r.returncode, r.stderr)



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


shutil.rmtree(TMP, ignore_errors=True)
print(f"cli: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
