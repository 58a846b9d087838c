#!/usr/bin/env python3
"""Models whose weights are finite but overflow 32-bit floats in the forward
pass: every command that runs the network stops with exit status 2 and a
message naming the model and, where there is one, the sentence, on every
kernel path, in 32-bit, 16-bit and 8-bit forms; nothing is tagged with the
biases alone or with whatever a NaN compares to. The models are built here
from the fixture (tests/fixtures/ref_pre.json). Run by `make check` with
ATTNTAG_BIN set; prints 'N passed, N failed'."""
import json
import os
import sys
import tempfile

from runner import ROOT, run

REF = os.path.join(ROOT, "tests", "fixtures", "ref_pre.json")
SAMPLE = os.path.join(ROOT, "data", "sample.conllu")
TMP = tempfile.mkdtemp(prefix="attntag-overflow-")
BIG = 65504.0  # the largest 16-bit float
MESSAGE = "are not finite numbers: the model's weights are too large for 32-bit floats"


def path(name):
    return os.path.join(TMP, name)


def save(name, model):
    with open(path(name), "w") as f:
        json.dump(model, f)
    return path(name)


def convert(src, name, *opts):
    rc, _, err = run(["convert", *opts, src, path(name)])
    assert rc == 0, err
    return path(name)


FIXTURE = json.load(open(REF))


def wide():
    """The fixture at dim 64 and ffn 512, whose every value fits a 16-bit float
    and whose blocks still overflow: each layer norm gives the same vector of
    +-BIG (weight 0, bias +-BIG), and every product is lined up with its
    signs, so a block adds some 1e19 to each value, and the next layer norm's
    variance exceeds the largest float."""
    m = json.loads(json.dumps(FIXTURE))
    c = m["config"]
    d, f = 64, 512
    c.update(dim=d, ffn_dim=f)
    sign = [1.0 if i % 2 == 0 else -1.0 for i in range(max(d, f))]

    def tensor(shape, value):
        n = shape[0] * (shape[1] if len(shape) > 1 else 1)
        cols = shape[1] if len(shape) > 1 else 1
        return {"dtype": "F32", "shape": shape, "data": [value(i // cols, i % cols) for i in range(n)]}

    t = m["tensors"]
    for name in list(t):
        shape = [d if s == 16 else f if s == 32 else s for s in t[name]["shape"]]
        if name.startswith("embed.char") and name != "embed.char_proj":
            continue  # [buckets, char_dim]: no dim in it
        if name.endswith("norm.weight") or ".q." in name or ".k." in name:
            t[name] = tensor(shape, lambda i, j: 0.0)
        elif name.endswith("norm.bias"):
            t[name] = tensor(shape, lambda i, j: BIG * sign[i])
        elif name.endswith(("v.weight", "o.weight")):
            t[name] = tensor(shape, lambda i, j: BIG * sign[i] * sign[j])
        else:  # embeddings, biases, classifiers: the fixture's, repeated
            old = t[name]
            rows, cols = old["shape"][0], (old["shape"][1] if len(old["shape"]) > 1 else 1)
            t[name] = tensor(shape, lambda i, j: old["data"][(i % rows) * cols + j % cols])
    # up's outputs all positive (through ReLU): the input's signs alone; and
    # down's sums of those positive values: the output's signs alone
    for name in t:
        if name.endswith("up.weight"):
            t[name] = tensor(t[name]["shape"], lambda i, j: BIG * sign[j])
        elif name.endswith("down.weight"):
            t[name] = tensor(t[name]["shape"], lambda i, j: BIG * sign[i])
    return m


def with_word(word, scale):
    """The fixture with one word's embedding multiplied by scale."""
    m = json.loads(json.dumps(FIXTURE))
    i = m["vocab"].index(word)
    e = m["tensors"]["embed.word"]
    dim = e["shape"][1]
    e["data"][i * dim:(i + 1) * dim] = [v * scale for v in e["data"][i * dim:(i + 1) * dim]]
    return m


PATHS = None


def kernel_paths():
    global PATHS
    if PATHS is None:
        rc, out, err = run(["info", REF])
        assert rc == 0, err
        line = [l for l in out.decode().splitlines() if l.startswith("kernels:")][0]
        PATHS = line.split("runs:")[1].strip(" )").split()
    return PATHS


passed, failed = 0, 0


def check(what, args, stdin=b"", where=""):
    """args must fail on every kernel path, saying where."""
    global passed, failed
    for p in kernel_paths():
        rc, out, err = run(args, stdin, {"ATTNTAG_KERNELS": p})
        ok = rc == 2 and MESSAGE in err and where in err
        passed += ok
        failed += not ok
        if not ok:
            print(f"FAIL {what} ({p}): exit {rc}, stderr {err!r}, want {where!r} and the message")


def main():
    models = {}
    # 32-bit: the classifiers' weights at 1e38 overflow the scores
    huge = json.loads(json.dumps(FIXTURE))
    for name, t in huge["tensors"].items():
        if name.startswith("heads."):
            t["data"] = [v * 1e38 for v in t["data"]]
    models["f32"] = save("heads.json", huge)
    # 16-bit weights that overflow in the blocks, and the same in 8 bits
    models["f16"] = convert(save("wide.json", wide()), "wide16.safetensors", "--f16")
    models["int8"] = convert(models["f16"], "wide8.safetensors", "--int8")
    models["int8-f32"] = convert(models["f32"], "heads8.safetensors", "--int8")
    text = path("text.txt")
    with open(text, "wb") as f:
        f.write(b"The dog runs .\n")
    for form, model in models.items():
        name = os.path.basename(model)
        check(f"{form}: tag", ["-m", model, text], where=f"{text}:1: model {model}")
        check(f"{form}: tag, standard input", ["-m", model], b"The dog runs .\n",
              f"<stdin>:1: model {model}")
        check(f"{form}: tag -o DIR", ["tag", "-m", model, "-o", path("out-" + form), text],
              where=f"{text}:1: model {model}")
        check(f"{form}: eval", ["eval", "-m", model, SAMPLE], where=f"model {model}")
        check(f"{form}: eval --raw", ["eval", "--raw", "-m", model, SAMPLE],
              where=f"{SAMPLE}: sentence 1 of its running text: model {model}")
        check(f"{form}: explain", ["explain", "-m", model, "-f", "json"], b"The dog runs .\n",
              f"model {model}")
        check(f"{form}: calibrate", ["calibrate", "-m", model, "--dev", SAMPLE, "-o",
                                     path(name + ".cal.json")],
              where=f"{SAMPLE}: sentence 1: model {model}")
    # one word's vector at 1e38: only its sentence fails, and is named; the
    # sentences before it are written
    model = save("dog.json", with_word("dog", 1e38))
    lines = b"the cat runs .\nthe cat sat .\nthe dog runs .\nthe cat .\n"
    global passed, failed
    for p in kernel_paths():
        rc, out, err = run(["-m", model], lines, {"ATTNTAG_KERNELS": p})
        ok = rc == 2 and f"<stdin>:3: model {model}" in err and out.count(b"\n") == 2
        passed += ok
        failed += not ok
        if not ok:
            print(f"FAIL one word's sentence ({p}): exit {rc}, {len(out.splitlines())} lines "
                  f"out, stderr {err!r}")
        rc, out, err = run(["-m", model], b"the cat runs .\n", {"ATTNTAG_KERNELS": p})
        ok = rc == 0 and out.count(b"_") == 4
        passed += ok
        failed += not ok
        if not ok:
            print(f"FAIL a sentence without the word ({p}): exit {rc}, stderr {err!r}")
    print(f"overflow: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
