"""attntag's network (docs/model-format.md) built from PyTorch modules, with
no attntag code: the one copy used by tests/fixtures/torch_reference.py (the
reference the C forward and backward passes are tested against) and by
bench/torch_tagger.py (the benchmark's twin, and its check that a model file
computes the same in both).

A batch is a dict of tensors made by make_batch from per-token features
(token_features.py); sentences are padded to the longest, and padding is
masked out of attention.
"""
import math

import torch
from torch import nn

from token_features import N_SHAPES


def make_batch(sentences, word_dropout=0.0, rng=None):
    """Tensors for a list of sentences, each a list of per-token features
    (word id, shape, lexicon bits, n-gram buckets), padded to the longest.
    With word_dropout, each word id becomes 0 (the unknown word) with that
    probability, drawn from rng token by token."""
    B, n = len(sentences), max(len(s) for s in sentences)
    words = torch.zeros(B, n, dtype=torch.long)
    shapes = torch.zeros(B, n, dtype=torch.long)
    lex = torch.zeros(B, n, dtype=torch.long)
    flat, offsets = [], []
    for b, feats in enumerate(sentences):
        for i in range(n):
            offsets.append(len(flat))
            if i < len(feats):
                w, s, l, g = feats[i]
                if word_dropout and rng.random() < word_dropout:
                    w = 0
                words[b, i], shapes[b, i], lex[b, i] = w, s, l
                flat.extend(g)
    return {"words": words, "shapes": shapes, "lex": lex,
            "ngrams": torch.tensor(flat, dtype=torch.long),
            "offsets": torch.tensor(offsets, dtype=torch.long),
            "lengths": torch.tensor([len(s) for s in sentences])}


class Tagger(nn.Module):
    """Embeddings, then per layer self-attention and a feed-forward network
    (nn.TransformerEncoderLayer, pre- or post-norm), then one linear
    classifier per tag set."""

    def __init__(self, cfg, n_vocab, n_tags, dropout=0.0):
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
            self.lex = nn.Parameter(torch.randn(cfg["lexicon_bits"], d) * 0.1)
        self.drop = nn.Dropout(dropout)
        self.layers = nn.ModuleList([
            nn.TransformerEncoderLayer(
                d_model=d, nhead=cfg["heads"], dim_feedforward=cfg["ffn_dim"], dropout=dropout,
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
        with torch.no_grad():
            for emb in [self.word] + ([self.shape] if cfg["shape"] else []):
                emb.weight.normal_(0, 0.1)
            if cfg["char_buckets"] > 0:
                self.char.weight.normal_(0, 0.1)

    def embed(self, b):
        """(B, n, d): word + projected mean of n-grams + shape + lexicon bits
        + sinusoidal position."""
        cfg = self.cfg
        B, n = b["words"].shape
        x = self.word(b["words"])
        if cfg["char_buckets"] > 0:
            bag = self.char(b["ngrams"], b["offsets"])          # (B*n, char_dim)
            x = x + self.char_proj(bag).view(B, n, -1)
        if cfg["shape"]:
            x = x + self.shape(b["shapes"])
        if cfg["lexicon_bits"] > 0:
            bits = ((b["lex"].unsqueeze(-1) >> torch.arange(cfg["lexicon_bits"])) & 1)
            x = x + bits.to(x.dtype) @ self.lex
        if cfg["abs_pos"]:
            d = cfg["dim"]
            p = torch.arange(n, dtype=torch.float64).unsqueeze(1)
            k = torch.arange(0, d, 2, dtype=torch.float64)
            ang = p * torch.exp(-k * math.log(10000.0) / d)
            pe = torch.zeros(n, d, dtype=torch.float64)
            pe[:, 0::2] = torch.sin(ang)
            pe[:, 1::2] = torch.cos(ang)[:, :d // 2]
            x = x + pe.to(x.dtype)
        return x

    def mask(self, layer, lengths, n):
        """(B*heads, n, n) additive mask: relative bias, window, padding."""
        cfg = self.cfg
        H, B = cfg["heads"], len(lengths)
        i = torch.arange(n).view(n, 1)
        j = torch.arange(n).view(1, n)
        R = cfg["rel_pos"]
        if R > 0:
            m = self.rel_bias[layer][:, (j - i).clamp(-R, R) + R]   # (H, n, n)
        else:
            m = torch.zeros(H, n, n, dtype=self.word.weight.dtype)
        m = m.unsqueeze(0).expand(B, H, n, n)
        bad = torch.zeros(B, 1, n, n, dtype=torch.bool)
        w = cfg["window"][layer]
        if w > 0:
            bad = bad | ((i - j).abs() > w).view(1, 1, n, n)
        pos = torch.arange(n).view(1, n)
        keypad = pos >= lengths.view(B, 1)                        # (B, n)
        bad = bad | keypad.view(B, 1, 1, n)
        # padding rows attend to everything: finite, never used
        bad = bad & ~keypad.view(B, 1, n, 1)
        m = torch.where(bad, torch.tensor(float("-inf"), dtype=m.dtype), m)
        return m.reshape(B * H, n, n)

    def forward(self, b, attention=None):
        """{tag set: (B, n, tags) logits}.  Given a list, attention gets each
        layer's attention weights, (B, heads, n, n), as the layer uses them."""
        x = self.drop(self.embed(b))
        n = x.shape[1]
        for l, layer in enumerate(self.layers):
            mask = self.mask(l, b["lengths"], n)
            if attention is not None:
                h = layer.norm1(x) if layer.norm_first else x
                _, w = layer.self_attn(h, h, h, attn_mask=mask, need_weights=True,
                                       average_attn_weights=False)
                attention.append(w)
            x = layer(x, src_mask=mask)
        if self.cfg["norm"] == "pre":
            x = self.final_norm(x)
        return {ts: self.heads[ts](x) for ts in self.cfg["tagsets"]}


def tensor_sources(model):
    """(attntag tensor name, torch parameter, its rows or None), in the model
    file's order.  q, k and v are row blocks of torch's packed in_proj."""
    cfg = model.cfg
    d = cfg["dim"]
    src = [("embed.word", model.word.weight, None)]
    if cfg["char_buckets"] > 0:
        src.append(("embed.char", model.char.weight, None))
        src.append(("embed.char_proj", model.char_proj.weight, None))
    if cfg["shape"]:
        src.append(("embed.shape", model.shape.weight, None))
    if cfg["lexicon_bits"] > 0:
        src.append(("embed.lex", model.lex, None))
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
    """{attntag tensor name: its values}, detached, in the model file's order."""
    return {name: (p if rows is None else p[rows]).detach()
            for name, p, rows in tensor_sources(model)}


def load_attntag_tensors(model, tensors):
    """Copy a model file's tensors ({name: tensor}) into the modules; the
    names must be exactly the network's."""
    src = tensor_sources(model)
    missing = sorted(set(name for name, _, _ in src) ^ set(tensors))
    if missing:
        raise ValueError("tensors differ from the network's: %s" % ", ".join(missing))
    with torch.no_grad():
        for name, p, rows in src:
            (p if rows is None else p[rows]).copy_(tensors[name])
