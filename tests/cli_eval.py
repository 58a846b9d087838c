"""Command-line tests: attntag eval and attntag calibrate. Run by tests/cli_test.py."""
from cli_common import *  # noqa: F401,F403  (the shared fixtures and helpers)


# --- eval ------------------------------------------------------------------------------



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
