"""Command-line tests: attntag train. Run by tests/cli_test.py."""
from cli_common import *  # noqa: F401,F403  (the shared fixtures and helpers)


# --- training -------------------------------------------------------------------------



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
