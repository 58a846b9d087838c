#!/usr/bin/python3
"""Independent PyTorch reference for the attntag network (docs/model-format.md).

Builds small random models with torch modules, computes every token feature in
plain Python, runs the network in float64 and writes, for each configuration,

    tests/fixtures/ref_<name>.json         the model as an attntag JSON file
    tests/fixtures/ref_<name>.expect.json  features, logits and attention weights

The torch result is checked against a second, plain-numpy implementation of
the document's formulas before anything is written.  No attntag C code is used.

Run from the repository root:  /usr/bin/python3 tests/torch_reference.py
Deterministic: the same files are written on every run.
"""
import json
import math
import os
import sys

import numpy as np
import torch
from torch import nn

from token_features import N_SHAPES, fnv1a32, ngram_buckets, norm_key, word_shape

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "fixtures")

def sinusoid(p, dim):
    pe = np.zeros(dim, dtype=np.float64)
    for k in range(0, (dim + 1) // 2):
        ang = p * math.exp(-2 * k * math.log(10000.0) / dim)
        pe[2 * k] = math.sin(ang)
        if 2 * k + 1 < dim:
            pe[2 * k + 1] = math.cos(ang)
    return pe


def features(spec, tokens):
    cfg = spec["config"]
    vocab_index = {w: i for i, w in enumerate(spec["vocab"])}
    lex = dict(spec.get("lexicon", []))
    feats = {"tokens": tokens, "keys": [], "word_ids": [], "shapes": [], "lex": [], "ngrams": []}
    for tok in tokens:
        key = norm_key(tok, cfg["lowercase"])
        feats["keys"].append(key)
        feats["word_ids"].append(vocab_index.get(key, 0))
        feats["shapes"].append(word_shape(tok))
        feats["lex"].append(lex.get(key, 0) if cfg["lexicon_bits"] > 0 else 0)
        if cfg["char_buckets"] > 0:
            feats["ngrams"].append(ngram_buckets(key, cfg["ngram_min"], cfg["ngram_max"],
                                                 cfg["char_buckets"]))
        else:
            feats["ngrams"].append([])
    return feats


# --------------------------------------------------------------------------
# The torch model
# --------------------------------------------------------------------------


class TorchTagger(nn.Module):
    def __init__(self, cfg, n_vocab, n_tags):
        super().__init__()
        self.cfg = cfg
        d = cfg["dim"]
        self.word = nn.Embedding(n_vocab, d)
        if cfg["char_buckets"] > 0:
            self.char = nn.EmbeddingBag(cfg["char_buckets"], cfg["char_dim"], mode="mean")
            self.char_proj = nn.Linear(cfg["char_dim"], d, bias=False)
        if cfg["shape"]:
            self.shape = nn.Embedding(N_SHAPES, d)
        if cfg["lexicon_bits"] > 0:
            self.lex = nn.Embedding(cfg["lexicon_bits"], d)
        self.layers = nn.ModuleList([
            nn.TransformerEncoderLayer(
                d_model=d, nhead=cfg["heads"], dim_feedforward=cfg["ffn_dim"], dropout=0.0,
                activation=cfg["activation"], layer_norm_eps=cfg["ln_eps"], batch_first=True,
                norm_first=(cfg["norm"] == "pre"))
            for _ in range(cfg["layers"])])
        R = cfg["rel_pos"]
        if R > 0:
            self.rel_bias = nn.ParameterList([
                nn.Parameter(torch.zeros(cfg["heads"], 2 * R + 1)) for _ in range(cfg["layers"])])
        if cfg["norm"] == "pre":
            self.final_norm = nn.LayerNorm(d, eps=cfg["ln_eps"])
        self.heads = nn.ModuleDict({ts: nn.Linear(d, n_tags[ts]) for ts in cfg["tagsets"]})

    def attn_mask(self, layer, n):
        """3-D additive float mask (heads, n, n): relative bias and window."""
        cfg = self.cfg
        dt = self.word.weight.dtype
        mask = torch.zeros(cfg["heads"], n, n, dtype=dt)
        i = torch.arange(n).view(n, 1)
        j = torch.arange(n).view(1, n)
        R = cfg["rel_pos"]
        if R > 0:
            idx = (j - i).clamp(-R, R) + R            # (n, n)
            mask = mask + self.rel_bias[layer][:, idx]  # (heads, n, n)
        w = cfg["window"][layer]
        if w > 0:
            mask = mask.masked_fill(((i - j).abs() > w).unsqueeze(0), float("-inf"))
        return mask

    def embed(self, feats):
        cfg = self.cfg
        n = len(feats["tokens"])
        dt = self.word.weight.dtype
        x = self.word(torch.tensor(feats["word_ids"]))
        if cfg["char_buckets"] > 0:
            flat = [b for ng in feats["ngrams"] for b in ng]
            offs, o = [], 0
            for ng in feats["ngrams"]:
                offs.append(o)
                o += len(ng)
            bag = self.char(torch.tensor(flat, dtype=torch.long),
                            torch.tensor(offs, dtype=torch.long))
            x = x + self.char_proj(bag)
        if cfg["shape"]:
            x = x + self.shape(torch.tensor(feats["shapes"]))
        if cfg["lexicon_bits"] > 0:
            bits = torch.tensor([[(v >> j) & 1 for j in range(cfg["lexicon_bits"])]
                                 for v in feats["lex"]], dtype=dt)
            x = x + bits @ self.lex.weight
        if cfg["abs_pos"]:
            x = x + torch.tensor(np.stack([sinusoid(p, cfg["dim"]) for p in range(n)]), dtype=dt)
        return x

    def forward(self, feats):
        n = len(feats["tokens"])
        x = self.embed(feats).unsqueeze(0)  # (1, n, d)
        attns = []
        for l, layer in enumerate(self.layers):
            mask = self.attn_mask(l, n)
            # the attention weights the layer uses: same module, same input
            h = layer.norm1(x) if layer.norm_first else x
            _, w = layer.self_attn(h, h, h, attn_mask=mask, need_weights=True,
                                   average_attn_weights=False)
            attns.append(w[0])  # (heads, n, n)
            x = layer(x, src_mask=mask)
        if self.cfg["norm"] == "pre":
            x = self.final_norm(x)
        logits = {ts: self.heads[ts](x)[0] for ts in self.cfg["tagsets"]}
        return logits, attns


def randomise(model, gen):
    """Non-trivial values for every parameter (matrices, biases, norms, rel_bias)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or \
                    name.startswith("final_norm.weight"):
                p.copy_(1.0 + 0.3 * torch.randn(p.shape, generator=gen))
            elif p.dim() == 1:
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
            elif name.startswith("rel_bias"):
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            elif name.startswith("heads.") or name.split(".")[0] in ("word", "char", "shape", "lex"):
                # larger, so that the best tag varies from token to token
                p.copy_(1.0 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))


def tensor_sources(model):
    """(attntag name, torch parameter, rows of it or None), in model-file order.
    q, k and v are row blocks of torch's packed in_proj weight and bias."""
    cfg = model.cfg
    d = cfg["dim"]
    src = [("embed.word", model.word.weight, None)]
    if cfg["char_buckets"] > 0:
        src.append(("embed.char", model.char.weight, None))
        src.append(("embed.char_proj", model.char_proj.weight, None))
    if cfg["shape"]:
        src.append(("embed.shape", model.shape.weight, None))
    if cfg["lexicon_bits"] > 0:
        src.append(("embed.lex", model.lex.weight, None))
    for l, layer in enumerate(model.layers):
        pre = "layers.%d." % l
        src.append((pre + "attn_norm.weight", layer.norm1.weight, None))
        src.append((pre + "attn_norm.bias", layer.norm1.bias, None))
        W, B = layer.self_attn.in_proj_weight, layer.self_attn.in_proj_bias
        for k, nm in enumerate("qkv"):
            rows = slice(k * d, (k + 1) * d)
            src.append((pre + "attn.%s.weight" % nm, W, rows))
            src.append((pre + "attn.%s.bias" % nm, B, rows))
        src.append((pre + "attn.o.weight", layer.self_attn.out_proj.weight, None))
        src.append((pre + "attn.o.bias", layer.self_attn.out_proj.bias, None))
        if cfg["rel_pos"] > 0:
            src.append((pre + "attn.rel_bias", model.rel_bias[l], None))
        src.append((pre + "ffn_norm.weight", layer.norm2.weight, None))
        src.append((pre + "ffn_norm.bias", layer.norm2.bias, None))
        src.append((pre + "ffn.up.weight", layer.linear1.weight, None))
        src.append((pre + "ffn.up.bias", layer.linear1.bias, None))
        src.append((pre + "ffn.down.weight", layer.linear2.weight, None))
        src.append((pre + "ffn.down.bias", layer.linear2.bias, None))
    if cfg["norm"] == "pre":
        src.append(("final_norm.weight", model.final_norm.weight, None))
        src.append(("final_norm.bias", model.final_norm.bias, None))
    for ts in cfg["tagsets"]:
        src.append(("heads.%s.weight" % ts, model.heads[ts].weight, None))
        src.append(("heads.%s.bias" % ts, model.heads[ts].bias, None))
    return src


def attntag_tensors(model):
    """Map torch parameters to the attntag tensor names (float32 numpy arrays)."""
    t = {}
    for name, p, rows in tensor_sources(model):
        v = p if rows is None else p[rows]
        t[name] = v.detach().to(torch.float32).numpy().copy()
    return t


# --------------------------------------------------------------------------
# Second computation: the document's formulas in plain numpy (float64)
# --------------------------------------------------------------------------


def np_forward(cfg, T, feats):
    T = {k: v.astype(np.float64) for k, v in T.items()}
    d, H = cfg["dim"], cfg["heads"]
    dh = d // H
    n = len(feats["tokens"])
    eps = cfg["ln_eps"]

    def LN(x, name):
        mu = x.mean(axis=-1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * T[name + ".weight"] + T[name + ".bias"]

    def lin(x, name):
        return x @ T[name + ".weight"].T + T[name + ".bias"]

    x = np.zeros((n, d))
    for i in range(n):
        x[i] += T["embed.word"][feats["word_ids"][i]]
        if cfg["char_buckets"] > 0:
            ng = feats["ngrams"][i]
            if ng:
                m = np.mean([T["embed.char"][g] for g in ng], axis=0)
                x[i] += T["embed.char_proj"] @ m
        if cfg["shape"]:
            x[i] += T["embed.shape"][feats["shapes"][i]]
        if cfg["lexicon_bits"] > 0:
            for j in range(cfg["lexicon_bits"]):
                if feats["lex"][i] >> j & 1:
                    x[i] += T["embed.lex"][j]
        if cfg["abs_pos"]:
            for k in range(0, d, 2):
                ang = i * math.exp(-k * math.log(10000.0) / d)
                x[i, k] += math.sin(ang)
                if k + 1 < d:
                    x[i, k + 1] += math.cos(ang)

    if cfg["activation"] == "relu":
        act = lambda z: np.maximum(z, 0.0)
    else:
        act = np.vectorize(lambda z: 0.5 * z * (1.0 + math.erf(z / math.sqrt(2.0))))

    attns = []

    def MHA(h, l):
        pre = "layers.%d.attn." % l
        q, k, v = lin(h, pre + "q"), lin(h, pre + "k"), lin(h, pre + "v")
        R, win = cfg["rel_pos"], cfg["window"][l]
        o = np.zeros((n, d))
        W = np.zeros((H, n, n))
        for t in range(H):
            sl = slice(t * dh, (t + 1) * dh)
            for i in range(n):
                s = np.empty(n)
                for j in range(n):
                    s[j] = q[i, sl] @ k[j, sl] / math.sqrt(dh)
                    if R > 0:
                        s[j] += T[pre + "rel_bias"][t, min(max(j - i, -R), R) + R]
                    if win > 0 and abs(i - j) > win:
                        s[j] = -np.inf
                e = np.exp(s - s.max())
                W[t, i] = e / e.sum()
                o[i, sl] = W[t, i] @ v[:, sl]
        attns.append(W)
        return lin(o, pre + "o")

    def FFN(h, l):
        pre = "layers.%d.ffn." % l
        return lin(act(lin(h, pre + "up")), pre + "down")

    for l in range(cfg["layers"]):
        pre = "layers.%d." % l
        if cfg["norm"] == "pre":
            x = x + MHA(LN(x, pre + "attn_norm"), l)
            x = x + FFN(LN(x, pre + "ffn_norm"), l)
        else:
            x = LN(x + MHA(x, l), pre + "attn_norm")
            x = LN(x + FFN(x, l), pre + "ffn_norm")
    if cfg["norm"] == "pre":
        x = LN(x, "final_norm")
    logits = {ts: lin(x, "heads." + ts) for ts in cfg["tagsets"]}
    return logits, attns


# --------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------

SPECS = [
    {
        "name": "pre",
        "seed": 1234,
        "config": {
            "dim": 16, "heads": 4, "layers": 2, "ffn_dim": 32, "max_len": 16,
            "norm": "pre", "activation": "relu", "window": [1, 0], "rel_pos": 3,
            "abs_pos": False, "lowercase": True, "char_buckets": 64, "char_dim": 8,
            "ngram_min": 2, "ngram_max": 4, "shape": True, "lexicon_bits": 4,
            "ln_eps": 1e-5, "tagsets": ["upos", "xpos"],
        },
        # keys (NFKC-casefolded)
        "vocab": ["<unk>", "the", "a", "dog", "dogs", "cat", "runs", "ran", "to", "in",
                  "paris", "nasa", "launched", "rockets", "3", "2024", ".", ",", "!",
                  "café", "naïve", "strasse", "école", "fine", "über", "我们", "喜欢",
                  "猫", "。", "hello", "big"],
        "tags": {"upos": ["NOUN", "VERB", "ADJ", "PUNCT", "X"],
                 "xpos": ["NN", "NNS", "VB", "VBD", "JJ", ".", "FW"]},
        "lexicon": [["the", 1], ["dog", 2], ["runs", 4], ["ran", 12], ["paris", 10],
                    ["zyxw", 15], ["café", 5], ["我们", 8], [".", 3], ["hello", 6]],
        "sentences": [
            ["The", "dog", "runs", "to", "Paris", "."],
            ["NASA", "launched", "3", "rockets", "in", "2024", ",", "costing", "$3.5",
             "B2B", "iPhone", "zyxw", "!"],
            ["Café", "naïve", "Straße", "ÉCOLE", "ﬁne", "über", "ǅungla", "ＡＢＣ"],
            ["我们", "喜欢", "猫", "。"],
            ["Hello"],
            ["THE", "big", "Dog", "ran", "to", "the", "cat", "in", "Paris", ",", "½",
             "x²", "McDonald", "A", "dogs", "."],
        ],
    },
    {
        "name": "post",
        "seed": 2,
        "config": {
            "dim": 16, "heads": 2, "layers": 2, "ffn_dim": 32, "max_len": 16,
            "norm": "post", "activation": "gelu", "window": [0, 2], "rel_pos": 0,
            "abs_pos": True, "lowercase": False, "char_buckets": 64, "char_dim": 8,
            "ngram_min": 2, "ngram_max": 4, "shape": True, "lexicon_bits": 0,
            "ln_eps": 1e-5, "tagsets": ["upos"],
        },
        # keys (NFC, case kept)
        "vocab": ["<unk>", "The", "the", "a", "dog", "cat", "runs", "ran", "to", "in",
                  "Paris", "NASA", "launched", "rockets", "3", "2024", ".", ",", "!",
                  "Café", "café", "naïve", "Straße", "über", "我们", "喜欢", "猫", "。",
                  "Hello", "big"],
        "tags": {"upos": ["NOUN", "VERB", "ADJ", "PUNCT", "X"]},
        "sentences": [
            ["The", "dog", "runs", "to", "Paris", "."],
            ["NASA", "launched", "3", "rockets", "in", "2024", ",", "costing", "$3.5",
             "B2B", "iPhone", "zyxw", "!"],
            # "Cafe\u0301" is decomposed on input and must be composed by NFC
            ["Café", "naïve", "Straße", "STRASSE", "Cafe\u0301", "über", "ÉCOLE", "\u0301"],
            ["我们", "喜欢", "猫", "。"],
            ["Hello"],
            ["the", "big", "Dog", "ran", "to", "the", "cat", "in", "Paris", ",", "3",
             "dogs", "and", "a", "CAT", "."],
        ],
    },
]


def build(spec):
    cfg = spec["config"]
    torch.manual_seed(spec["seed"])
    gen = torch.Generator().manual_seed(spec["seed"])
    model = TorchTagger(cfg, len(spec["vocab"]), {k: len(v) for k, v in spec["tags"].items()})
    randomise(model, gen)
    # round-trip the weights through float32 so the double model is exactly
    # the stored one
    model = model.float()
    return model


def check_spec(spec):
    cfg = spec["config"]
    assert spec["vocab"][0] == "<unk>"
    assert len(set(spec["vocab"])) == len(spec["vocab"])
    for w in spec["vocab"][1:]:
        assert norm_key(w, cfg["lowercase"]) == w, "vocab entry is not a key: %r" % w
    for w, b in spec.get("lexicon", []):
        assert norm_key(w, cfg["lowercase"]) == w and 0 <= b < (1 << cfg["lexicon_bits"])
    assert len(cfg["window"]) == cfg["layers"]
    assert cfg["tagsets"] == list(spec["tags"].keys())
    for s in spec["sentences"]:
        assert 1 <= len(s) <= cfg["max_len"]


# --------------------------------------------------------------------------
# Gradients: autograd, checked against central finite differences
# --------------------------------------------------------------------------


def grad_sentence(spec):
    """Index of the longest sentence (first among equals) with an unknown word
    and, if the configuration has a lexicon, a lexicon hit."""
    cfg = spec["config"]
    best = None
    for k, tokens in enumerate(spec["sentences"]):
        f = features(spec, tokens)
        if 0 not in f["word_ids"]:
            continue
        if cfg["lexicon_bits"] > 0 and not any(f["lex"]):
            continue
        if best is None or len(tokens) > len(spec["sentences"][best]):
            best = k
    assert best is not None, spec["name"]
    return best


def ce_loss(model, feats, gold):
    """L = sum over tag sets of the mean over tokens of cross_entropy."""
    logits, _ = model(feats)
    loss = None
    for ts in model.cfg["tagsets"]:
        l = torch.nn.functional.cross_entropy(logits[ts], torch.tensor(gold[ts]),
                                              reduction="mean")
        loss = l if loss is None else loss + l
    return loss


def gradients(spec, model, feats, gold):
    """Loss and dL/d(every attntag tensor) in float64, by autograd; a few
    entries of every tensor are checked against central finite differences."""
    for p in model.parameters():
        p.requires_grad_(True)
        p.grad = None
    loss = ce_loss(model, feats, gold)
    loss.backward()
    L = loss.item()
    src = tensor_sources(model)
    grads = {}
    for name, p, rows in src:
        g = p.grad if rows is None else p.grad[rows]
        grads[name] = g.detach().numpy().astype(np.float64).copy()

    def loss_at(p, rows, k, value):
        flat = (p.data if rows is None else p.data[rows]).view(-1)
        old = flat[k].item()
        flat[k] = value
        v = ce_loss(model, feats, gold).item()
        flat[k] = old
        assert (p.data if rows is None else p.data[rows]).view(-1)[k].item() == old
        return v

    eps = 1e-6
    rng = np.random.RandomState(spec["seed"] + 7)
    checked = 0
    for name, p, rows in src:
        g = grads[name].reshape(-1)
        if name.endswith(".attn.k.bias"):
            # q_i . k.bias is the same for every key j, and softmax ignores it:
            # the exact gradient is 0 and autograd leaves rounding noise only
            assert np.abs(g).max() < 1e-14, (spec["name"], name, np.abs(g).max())
            for k in range(len(g)):
                x = (p.data if rows is None else p.data[rows]).view(-1)[k].item()
                fd = (loss_at(p, rows, k, x + eps) - loss_at(p, rows, k, x - eps)) / (2 * eps)
                assert abs(fd) < 1e-8, (spec["name"], name, k, fd)
                checked += 1
            continue
        big = np.flatnonzero(np.abs(g) >= max(1e-4, 1e-3 * np.abs(g).max()))
        assert len(big) > 0, (spec["name"], name, "no sizeable gradient")
        picks = [int(np.argmax(np.abs(g)))]
        picks += [int(k) for k in rng.choice(big, size=min(2, len(big)), replace=False)]
        if name == "embed.word":
            # the <unk> row is used by the chosen sentence
            row0 = g[:p.shape[1]]
            picks.append(int(np.argmax(np.abs(row0))))
        for k in picks:
            x = (p.data if rows is None else p.data[rows]).view(-1)[k].item()
            fd = (loss_at(p, rows, k, x + eps) - loss_at(p, rows, k, x - eps)) / (2 * eps)
            rel = abs(fd - g[k]) / abs(g[k])
            assert rel <= 1e-5, (spec["name"], name, k, g[k], fd, rel)
            checked += 1
        zero = np.flatnonzero(g == 0.0)
        if len(zero) > 0:
            # an unused embedding row (or an entry with no influence): the
            # loss must not move at all
            k = int(zero[0])
            x = (p.data if rows is None else p.data[rows]).view(-1)[k].item()
            assert loss_at(p, rows, k, x + eps) == L and loss_at(p, rows, k, x - eps) == L, \
                (spec["name"], name, k)
            checked += 1
    # third computation: the same derivative through the plain-numpy forward
    # pass (largest entry of each tensor), so names and slices agree as well
    T64 = {name: (p if rows is None else p[rows]).detach().numpy().astype(np.float64).copy()
           for name, p, rows in src}

    def np_loss(T):
        logits, _ = np_forward(model.cfg, T, feats)
        tot = 0.0
        for ts in model.cfg["tagsets"]:
            z = logits[ts]
            m = z.max(axis=1, keepdims=True)
            lse = (m[:, 0] + np.log(np.exp(z - m).sum(axis=1)))
            tot += float(np.mean(lse - z[np.arange(len(z)), gold[ts]]))
        return tot

    assert abs(np_loss(T64) - L) < 1e-10 * abs(L), (spec["name"], np_loss(T64), L)
    for name, _, _ in src:
        g = grads[name].reshape(-1)
        if name.endswith(".attn.k.bias"):
            continue
        k = int(np.argmax(np.abs(g)))
        flat = T64[name].reshape(-1)
        x = flat[k]
        flat[k] = x + eps
        up = np_loss(T64)
        flat[k] = x - eps
        down = np_loss(T64)
        flat[k] = x
        fd = (up - down) / (2 * eps)
        assert abs(fd - g[k]) <= 1e-5 * abs(g[k]), (spec["name"], "numpy", name, k, g[k], fd)
        checked += 1
    # every weight of the model file has a gradient of its own shape
    for name, p, rows in src:
        v = p if rows is None else p[rows]
        assert grads[name].shape == tuple(v.shape), name
    for p in model.parameters():
        p.requires_grad_(False)
        p.grad = None
    return L, grads, checked


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def f32_list(a):
    # repr of a float32 widened to double: shortest text that reads back to
    # that double, hence to the exact float32
    return [float(v) for v in np.asarray(a, dtype=np.float32).reshape(-1).tolist()]


def dumps_model(spec, tensors):
    cfg = spec["config"]
    parts = ['{"format": "attntag-model-1",\n']
    parts.append('"config": %s,\n' % json.dumps(cfg, ensure_ascii=False))
    parts.append('"vocab": %s,\n' % json.dumps(spec["vocab"], ensure_ascii=False))
    parts.append('"tags": %s,\n' % json.dumps(spec["tags"], ensure_ascii=False))
    if cfg["lexicon_bits"] > 0:
        lex = sorted(spec["lexicon"], key=lambda e: e[0].encode("utf-8"))
        parts.append('"lexicon": %s,\n' % json.dumps(lex, ensure_ascii=False))
    parts.append('"tensors": {\n')
    items = []
    for name, a in tensors.items():
        items.append('%s: {"dtype": "F32", "shape": %s, "data": %s}' % (
            json.dumps(name), json.dumps(list(a.shape)), json.dumps(f32_list(a))))
    parts.append(",\n".join(items))
    parts.append("\n}}\n")
    return "".join(parts)


def f64_list(a):
    # shortest repr of each double; -0.0 written as 0.0
    return [float(v) + 0.0 for v in np.asarray(a, dtype=np.float64).reshape(-1).tolist()]


def dumps_expect(sentences, grad):
    lines = ['{"sentences": [\n']
    out = []
    for s in sentences:
        out.append(json.dumps(s, ensure_ascii=False))
    lines.append(",\n".join(out))
    lines.append("\n],\n")
    lines.append('"grad": {"sentence": %d,\n' % grad["sentence"])
    lines.append('"gold": %s,\n' % json.dumps(grad["gold"]))
    lines.append('"loss": %s,\n' % json.dumps(float(grad["loss"])))
    lines.append('"grads": {\n')
    lines.append(",\n".join("%s: %s" % (json.dumps(name), json.dumps(f64_list(g)))
                            for name, g in grad["grads"].items()))
    lines.append("\n}}}\n")
    return "".join(lines)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    assert fnv1a32(b"") == 0x811C9DC5 and fnv1a32(b"a") == 0xE40C292C
    assert fnv1a32(b"foobar") == 0xBF9CF968
    summary = []
    for spec in SPECS:
        check_spec(spec)
        cfg = spec["config"]
        model = build(spec)
        tensors = attntag_tensors(model)
        # a fresh float64 copy of exactly these float32 weights
        model = model.double().eval()
        for p in model.parameters():
            p.requires_grad_(False)
        sents = []
        for tokens in spec["sentences"]:
            feats = features(spec, tokens)
            with torch.no_grad():
                logits, attns = model(feats)
            logits = {ts: v.numpy() for ts, v in logits.items()}
            attns = [a.numpy() for a in attns]
            # second computation: the document's formulas in numpy
            nl, na = np_forward(cfg, tensors, feats)
            for ts in cfg["tagsets"]:
                assert logits[ts].shape == (len(tokens), len(spec["tags"][ts]))
                err = np.max(np.abs(logits[ts] - nl[ts]))
                assert err < 1e-10, (spec["name"], ts, err)
            for a, b in zip(attns, na):
                assert a.shape == (cfg["heads"], len(tokens), len(tokens))
                err = np.max(np.abs(a - b))
                assert err < 1e-12, (spec["name"], "attention", err)
            for l, w in enumerate(cfg["window"]):
                if w > 0:
                    n = len(tokens)
                    for i in range(n):
                        for j in range(n):
                            if abs(i - j) > w:
                                assert attns[l][:, i, j].max() == 0.0
            sents.append({
                "tokens": tokens,
                "keys": feats["keys"],
                "word_ids": feats["word_ids"],
                "shapes": feats["shapes"],
                "lex": feats["lex"],
                "ngrams": feats["ngrams"],
                "logits": {ts: logits[ts].tolist() for ts in cfg["tagsets"]},
                "attention": [a.tolist() for a in attns],
            })
        # gradient of the training loss for one sentence
        gi = grad_sentence(spec)
        gfeats = features(spec, spec["sentences"][gi])
        grng = np.random.RandomState(spec["seed"])
        n = len(gfeats["tokens"])
        gold = {ts: [int(v) for v in grng.randint(0, len(spec["tags"][ts]), size=n)]
                for ts in cfg["tagsets"]}
        loss, grads, checked = gradients(spec, model, gfeats, gold)
        grad = {"sentence": gi, "gold": gold, "loss": loss, "grads": grads}
        assert list(grads.keys()) == list(tensors.keys())
        for name, a in tensors.items():
            assert grads[name].shape == a.shape, name
        mpath = os.path.join(OUT_DIR, "ref_%s.json" % spec["name"])
        epath = os.path.join(OUT_DIR, "ref_%s.expect.json" % spec["name"])
        with open(mpath, "w", encoding="utf-8") as f:
            f.write(dumps_model(spec, tensors))
        with open(epath, "w", encoding="utf-8") as f:
            f.write(dumps_expect(sents, grad))
        # the stored numbers read back to exactly the float32 weights
        with open(mpath, encoding="utf-8") as f:
            back = json.load(f)["tensors"]
        for name, a in tensors.items():
            b = np.asarray(back[name]["data"], dtype=np.float32).reshape(a.shape)
            assert np.array_equal(a.view(np.uint32), b.view(np.uint32)), name
        with open(epath, encoding="utf-8") as f:
            eback = json.load(f)
        assert eback["grad"]["loss"] == loss and eback["grad"]["gold"] == gold
        for name, g in grads.items():
            assert np.array_equal(np.asarray(eback["grad"]["grads"][name]), g.reshape(-1)), name
        summary.append("%s (%d tensors, %d sentences; grad: sentence %d, loss %.6f, "
                       "%d entries checked by finite differences; %d + %d bytes)" % (
                           spec["name"], len(tensors), len(sents), gi, loss, checked,
                           os.path.getsize(mpath), os.path.getsize(epath)))
    print("torch_reference: wrote tests/fixtures/ref_{%s}.json and .expect.json: %s; "
          "torch == numpy and autograd == finite differences checked" % (
              ",".join(s["name"] for s in SPECS), "; ".join(summary)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
