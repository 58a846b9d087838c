"""Command-line tests: tagging: bad and awkward text, and every input and output format. Run by tests/cli_test.py."""
from cli_common import *  # noqa: F401,F403  (the shared fixtures and helpers)


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
