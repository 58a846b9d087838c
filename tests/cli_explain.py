"""Command-line tests: attntag explain. Run by tests/cli_test.py."""
from cli_common import *  # noqa: F401,F403  (the shared fixtures and helpers)


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
