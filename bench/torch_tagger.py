#!/usr/bin/python3
"""A reference PyTorch tagger with the architecture and size of an attntag
model, for the benchmark: same configuration, same vocabulary, tag sets and
lexicon (read from the attntag model file), same token features and network
(docs/model-format.md; tests/torch_network.py, the network the C tests'
reference fixtures come from), trained here from scratch on a CoNLL-U corpus
with one thread.

    torch_tagger.py train --attntag-model M.safetensors --train TRAIN.conllu \
                          --epochs N -o MODEL.pt
    torch_tagger.py tag MODEL.pt < tokens > predictions
    torch_tagger.py tag M.safetensors < tokens > predictions
                                    this network with an attntag model's
                                    weights: a check that both compute the same
    torch_tagger.py blas            which BLAS library this process runs

Training follows attntag's recipe where it is cheap to: AdamW (lr 0.002,
betas 0.9/0.999, weight decay 0.01 on matrices), 5% linear warm-up then cosine
decay to 0, gradient norm clipped to 1, label smoothing 0.1, dropout 0.1,
word dropout 0.15, mini-batches of about 1000 tokens (sentences of similar
length together), the summed loss of every tag set. Differences: a fixed
number of epochs, no development set, no moving average of the weights.

Tagging reads one token per line with a blank line after each sentence and
writes token<TAB>upos<TAB>xpos lines (every tag set of the model, in order) in
the same layout; sentences are run in batches of about 1000 tokens.
"""
import argparse
import json
import math
import os
import random
import struct
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from token_features import ngram_buckets, norm_key, word_shape  # noqa: E402
from torch_network import Tagger, load_attntag_tensors, make_batch  # noqa: E402

from corpus import read_conllu, read_vertical  # noqa: E402

COLUMN = {"upos": 3, "xpos": 4}


# --------------------------------------------------------------------------
# The attntag model file: configuration, vocabulary, tags, lexicon
# --------------------------------------------------------------------------

def read_attntag_model(path, want_weights=False):
    """Configuration and string tables of an attntag .safetensors file, and
    its weights (as float32 tensors) when asked for: they are only used to
    check that this network computes what attntag computes."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n

        def strings(name):
            b, e = header[name]["data_offsets"]
            f.seek(base + b)
            data = f.read(e - b)
            assert data.endswith(b"\0"), name
            return [s.decode("utf-8") for s in data[:-1].split(b"\0")]

        def u8(name):
            b, e = header[name]["data_offsets"]
            f.seek(base + b)
            return list(f.read(e - b))

        spec = {"weights": {}}
        if want_weights:
            import numpy as np
            dt = {"F16": np.float16, "F32": np.float32}
            for name, h in header.items():
                # the weights; an int8 model's packs (.int8, .int8_scale) are
                # attntag's rounded copy of them, which the network here does not use
                if name != "__metadata__" and h["dtype"] in dt and ".int8" not in name:
                    b, e = h["data_offsets"]
                    f.seek(base + b)
                    a = np.frombuffer(f.read(e - b), dtype=dt[h["dtype"]]).reshape(h["shape"])
                    spec["weights"][name] = torch.from_numpy(a.astype(np.float32))
        meta = header["__metadata__"]
        cfg = json.loads(meta["attntag.config"])
        spec.update({"config": cfg, "vocab": strings("vocab"),
                     "tags": {ts: strings("tags." + ts) for ts in cfg["tagsets"]},
                     "lexicon": [], "checksum": meta.get("attntag.checksum")})
        if "lexicon.words" in header:
            spec["lexicon"] = list(zip(strings("lexicon.words"), u8("lexicon.bits")))
    return spec


# --------------------------------------------------------------------------
# Token features (docs/model-format.md)
# --------------------------------------------------------------------------

class Featurizer:
    """Per token: word id, shape, lexicon bits, hashed n-gram buckets; cached
    per distinct token."""

    def __init__(self, spec):
        self.cfg = spec["config"]
        self.vocab = {w: i for i, w in enumerate(spec["vocab"])}
        self.lex = dict(spec["lexicon"])
        self.cache = {}

    def __call__(self, tok):
        f = self.cache.get(tok)
        if f is None:
            cfg = self.cfg
            key = norm_key(tok, cfg["lowercase"])
            grams = []
            if cfg["char_buckets"] > 0:
                grams = ngram_buckets(key, cfg["ngram_min"], cfg["ngram_max"], cfg["char_buckets"])
            f = (self.vocab.get(key, 0), word_shape(tok), self.lex.get(key, 0), grams)
            self.cache[tok] = f
        return f


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def read_tagged(path, tagsets, tags):
    """(forms, {tagset: tag indices}) per sentence; a tag the model does not
    have gets -100, which the loss ignores."""
    index = {ts: {t: k for k, t in enumerate(tags[ts])} for ts in tagsets}
    return [([c[1] for c in s], {ts: [index[ts].get(c[COLUMN[ts]], -100) for c in s]
                                 for ts in tagsets})
            for s in read_conllu(path)]


def batches_by_length(items, length, batch_tokens):
    """Indices grouped into batches of about batch_tokens tokens, sentences of
    similar length together."""
    order = sorted(range(len(items)), key=lambda k: length(items[k]))
    out, cur, tokens = [], [], 0
    for k in order:
        cur.append(k)
        tokens += length(items[k])
        if tokens >= batch_tokens:
            out.append(cur)
            cur, tokens = [], 0
    if cur:
        out.append(cur)
    return out


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------

def blas_info():
    """The BLAS/LAPACK libraries mapped into this process, and OpenBLAS's own
    description of itself when it is one of them."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if "blas" in p.lower() or "lapack" in p.lower():
                libs.add(os.path.realpath(p))
    info = {"libraries": sorted(libs)}
    for p in sorted(libs):
        if "openblas" in p:
            try:
                import ctypes
                lib = ctypes.CDLL(p)
                lib.openblas_get_config.restype = ctypes.c_char_p
                lib.openblas_get_corename.restype = ctypes.c_char_p
                info["openblas_config"] = lib.openblas_get_config().decode()
                info["openblas_core"] = lib.openblas_get_corename().decode()
                lib.openblas_get_num_threads.restype = ctypes.c_int
                info["openblas_threads"] = lib.openblas_get_num_threads()
            except (OSError, AttributeError):
                pass
            break
    info["torch_threads"] = torch.get_num_threads()
    info["torch"] = torch.__version__
    return info


def train(a):
    torch.set_num_threads(1)
    spec = read_attntag_model(a.attntag_model)
    cfg = spec["config"]
    tagsets = cfg["tagsets"]
    for ts in tagsets:
        if ts not in COLUMN:
            raise SystemExit("torch_tagger.py: tag set %r: only upos and xpos are read" % ts)
    random.seed(a.seed)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    t_start = time.perf_counter()
    sents = read_tagged(a.train, tagsets, spec["tags"])
    # sentences longer than max_len are cut into pieces of max_len tokens
    L = cfg["max_len"]
    units = []
    for toks, gold in sents:
        for s in range(0, len(toks), L):
            units.append((toks[s:s + L], {ts: g[s:s + L] for ts, g in gold.items()}))
    if a.limit:
        units = units[:a.limit]
    feat = Featurizer(spec)
    model = Tagger(cfg, len(spec["vocab"]), {ts: len(spec["tags"][ts]) for ts in tagsets},
                   dropout=a.dropout)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for nm, p in model.named_parameters() if p.dim() >= 2 and "rel_bias" not in nm]
    no_decay = [p for nm, p in model.named_parameters() if not (p.dim() >= 2 and "rel_bias" not in nm)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    batches = batches_by_length(units, lambda u: len(u[0]), a.batch_tokens)
    total = len(batches) * a.epochs
    warm = int(0.05 * total) + 1

    def lr_at(step):
        if step < warm:
            return (step + 1) / warm
        t = min(1.0, (step - warm) / max(1, total - warm))
        return 0.5 * (1 + math.cos(math.pi * t))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=a.label_smoothing, ignore_index=-100,
                                  reduction="sum")
    print("torch: %d parameters, %d training units, %d batches/epoch, %d epochs, %s"
          % (n_params, len(units), len(batches), a.epochs, json.dumps(blas_info())),
          file=sys.stderr)
    log = []
    step = 0
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        order = list(range(len(batches)))
        rng.shuffle(order)
        tot_loss = tot_tok = 0
        for bi in order:
            us = [units[k] for k in batches[bi]]
            b = make_batch([[feat(t) for t in u[0]] for u in us], a.word_dropout, rng)
            logits = model(b)
            n = logits[tagsets[0]].shape[1]
            ntok = int(b["lengths"].sum())
            loss = 0
            for ts in tagsets:
                gold = torch.full((len(us), n), -100, dtype=torch.long)
                for r, u in enumerate(us):
                    gold[r, :len(u[0])] = torch.tensor(u[1][ts])
                loss = loss + loss_fn(logits[ts].reshape(-1, logits[ts].shape[-1]), gold.view(-1))
            loss = loss / ntok
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), a.clip)
            opt.step()
            sched.step()
            step += 1
            tot_loss += loss.item() * ntok
            tot_tok += ntok
            if step % 50 == 0:
                print("torch: epoch %d, step %d/%d, loss %.4f, %.0f tokens/s"
                      % (epoch, step, total, tot_loss / tot_tok,
                         tot_tok / (time.perf_counter() - t0)), file=sys.stderr)
        secs = time.perf_counter() - t0
        log.append({"epoch": epoch, "train_loss": tot_loss / tot_tok, "seconds": round(secs, 1),
                    "tokens_per_s": round(tot_tok / secs)})
        print("torch: " + json.dumps(log[-1]), file=sys.stderr)
    seconds = time.perf_counter() - t_start
    meta = {"config": cfg, "vocab": spec["vocab"], "tags": spec["tags"],
            "lexicon": spec["lexicon"], "attntag_model": os.path.basename(a.attntag_model),
            "attntag_checksum": spec["checksum"], "epochs": a.epochs, "parameters": n_params,
            "train_seconds": round(seconds, 1), "log": log, "blas": blas_info(),
            "recipe": {k: getattr(a, k) for k in ("lr", "weight_decay", "clip", "label_smoothing",
                                                  "dropout", "word_dropout", "batch_tokens",
                                                  "seed")}}
    tmp = a.output + ".tmp"
    torch.save({"meta": meta, "state": model.state_dict()}, tmp)
    os.replace(tmp, a.output)
    info = {k: v for k, v in meta.items() if k not in ("vocab", "tags", "lexicon")}
    with open(a.output + ".info.json", "w") as f:
        json.dump(info, f, indent=1)
    print("torch: trained in %.1f s, wrote %s" % (seconds, a.output), file=sys.stderr)


def tag(a):
    torch.set_num_threads(1)
    if a.model.endswith(".safetensors"):
        # an attntag model run by this network (the architecture check)
        meta = read_attntag_model(a.model, want_weights=True)
    else:
        ck = torch.load(a.model)
        meta = ck["meta"]
    cfg = meta["config"]
    tagsets = cfg["tagsets"]
    model = Tagger(cfg, len(meta["vocab"]), {ts: len(meta["tags"][ts]) for ts in tagsets})
    if a.model.endswith(".safetensors"):
        try:
            load_attntag_tensors(model, meta["weights"])
        except ValueError as e:
            raise SystemExit("torch_tagger.py: %s: %s" % (a.model, e))
    else:
        model.load_state_dict(ck["state"])
    model.eval()
    feat = Featurizer(meta)
    sents = list(read_vertical(sys.stdin))
    out = [None] * len(sents)
    with torch.inference_mode():
        for group in batches_by_length(sents, len, a.batch_tokens):
            logits = model(make_batch([[feat(t) for t in sents[k]] for k in group]))
            best = {ts: logits[ts].argmax(-1).tolist() for ts in tagsets}
            for r, k in enumerate(group):
                out[k] = "".join(
                    tok + "".join("\t" + meta["tags"][ts][best[ts][r][i]] for ts in tagsets) + "\n"
                    for i, tok in enumerate(sents[k])) + "\n"
    sys.stdout.write("".join(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--attntag-model", required=True)
    t.add_argument("--train", required=True)
    t.add_argument("--epochs", type=int, default=4)
    t.add_argument("-o", "--output", required=True)
    t.add_argument("--lr", type=float, default=0.002)
    t.add_argument("--weight-decay", type=float, default=0.01)
    t.add_argument("--clip", type=float, default=1.0)
    t.add_argument("--label-smoothing", type=float, default=0.1)
    t.add_argument("--dropout", type=float, default=0.1)
    t.add_argument("--word-dropout", type=float, default=0.15)
    t.add_argument("--batch-tokens", type=int, default=1000)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--limit", type=int, default=0, help="first N training units only (testing)")
    g = sub.add_parser("tag")
    g.add_argument("model")
    g.add_argument("--batch-tokens", type=int, default=1000)
    sub.add_parser("blas")
    a = ap.parse_args()
    if a.cmd == "train":
        train(a)
    elif a.cmd == "tag":
        tag(a)
    else:
        torch.set_num_threads(1)
        torch.ones(64, 64) @ torch.ones(64, 64)
        print(json.dumps(blas_info()))


if __name__ == "__main__":
    main()
