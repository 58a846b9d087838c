#!/usr/bin/env python3
"""The catalogue of bad inputs: damaged and hostile model files, corpora, text
and training data, each with the exit status and a fragment of the message
attntag must give (or 0 where the input is awkward but valid and must be
handled). Every case is built here from the fixtures; none is produced by
attntag's own writer after the damage. Run by `make check` with ATTNTAG_BIN
set; `--show` prints what each case gives instead of checking it."""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

from crc32c import crc32c

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("ATTNTAG_BIN", os.path.join(ROOT, "attntag"))
FIX = os.path.join(ROOT, "tests", "fixtures")
TMP = tempfile.mkdtemp(prefix="attntag-bad-")
SHOW = "--show" in sys.argv


def path(name):
    return os.path.join(TMP, name)


def write(name, content):
    p = path(name)
    with open(p, "wb") as f:
        f.write(content)
    return p


def run(args, stdin=b""):
    env = dict(os.environ)
    env.pop("ATTNTAG_MODEL", None)
    p = subprocess.run([BIN] + args, input=stdin, capture_output=True, env=env, timeout=600)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


# --- a small valid model, as safetensors, and ways to damage it -------------------

REF_JSON = os.path.join(FIX, "ref_pre.json")
REF = path("ref.safetensors")
subprocess.run([BIN, "convert", REF_JSON, REF], check=True)
with open(REF, "rb") as f:
    GOOD = f.read()
(HLEN,) = struct.unpack("<Q", GOOD[:8])
HEADER = json.loads(GOOD[8:8 + HLEN])
DATA = GOOD[8 + HLEN:]


def header():
    return json.loads(json.dumps(HEADER))


def pack(h, data=DATA):
    raw = json.dumps(h, separators=(",", ":")).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def with_config(**changes):
    h = header()
    cfg = json.loads(h["__metadata__"]["attntag.config"])
    for k, v in changes.items():
        if v is None:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    h["__metadata__"]["attntag.config"] = json.dumps(cfg)
    return pack(h)


def with_meta(**changes):
    h = header()
    for k, v in changes.items():
        if v is None:
            h["__metadata__"].pop(k)
        else:
            h["__metadata__"][k] = v
    return pack(h)


def with_tensor(name, **changes):
    h = header()
    h[name].update(changes)
    return pack(h)


def with_data(name, offset, raw):
    b, _ = HEADER[name]["data_offsets"]
    d = bytearray(DATA)
    d[b + offset:b + offset + len(raw)] = raw
    return pack(header(), bytes(d))


def strings_of(name):
    b, e = HEADER[name]["data_offsets"]
    return DATA[b:e].split(b"\0")[:-1]


def with_strings(name, strings):
    """Tensor `name` (a U8 table of NUL-terminated strings) rewritten in place
    with these, which take the same number of bytes."""
    blob = b"".join(s + b"\0" for s in strings)
    b, e = HEADER[name]["data_offsets"]
    assert len(blob) == e - b, (name, len(blob), e - b)
    return pack(header(), DATA[:b] + blob + DATA[e:])


def same_length_pair(words):
    """Indices i < j of two different strings of the same length."""
    for j, w in enumerate(words):
        for i in range(j):
            if len(words[i]) == len(w) and words[i] != w:
                return i, j
    raise AssertionError("no two strings of the same length")


def duplicated(name):
    words = strings_of(name)
    i, j = same_length_pair(words)
    words[j] = words[i]
    return with_strings(name, words)


LEXICON = ("lexicon.words", "lexicon.bits", "lexicon.starts", "lexicon.index")


def with_lexicon(changes, sign=True):
    """The file with tensors of the lexicon replaced (name -> bytes of any
    length, or None to drop it), the rest moved up or down to tile the data,
    and attntag.lexicon.crc32c made to match, as a hostile writer would (or
    dropped, with sign False, as in a file written before it)."""
    h = header()
    names = sorted((k for k in h if k != "__metadata__"), key=lambda k: h[k]["data_offsets"][0])
    data, crc = b"", 0
    for name in names:
        b, e = h[name]["data_offsets"]
        raw = changes.get(name, DATA[b:e])
        if raw is None:
            del h[name]
            continue
        if name in changes:
            h[name]["shape"] = [len(raw)]
        h[name]["data_offsets"] = [len(data), len(data) + len(raw)]
        data += raw
    for name in LEXICON:
        if name in h:
            b, e = h[name]["data_offsets"]
            crc = crc32c(data[b:e], crc)
    if sign:
        h["__metadata__"]["attntag.lexicon.crc32c"] = "%08x" % crc
    else:
        h["__metadata__"].pop("attntag.lexicon.crc32c")
    return pack(h, data)


def lexicon_data(name):
    b, e = HEADER[name]["data_offsets"]
    return DATA[b:e]


JSON_MODEL = json.load(open(REF_JSON))


def json_model(**changes):
    m = json.loads(json.dumps(JSON_MODEL))
    for k, v in changes.items():
        m[k] = v
    return json.dumps(m).encode()


def json_config(**changes):
    m = json.loads(json.dumps(JSON_MODEL))
    m["config"].update(changes)
    return json.dumps(m).encode()


vocab_off = HEADER["vocab"]["data_offsets"]
first_word_end = DATA[vocab_off[0]:vocab_off[1]].index(b"\0")

CASES = []
CHECKS = {}  # name -> what the output of an accepted case must satisfy


def case(kind, name, args, status, fragment, stdin=b""):
    CASES.append((kind, name, args, status, fragment, stdin))


def model_case(name, content, status, fragment, ext="safetensors"):
    case("model", name, lambda: ["-m", write(name + "." + ext, content)], status, fragment,
         b"The cat sat .\n")


# Model files: truncated at every section boundary.
model_case("empty-file", b"", 2, "too short")
model_case("length-cut", GOOD[:5], 2, "too short")
model_case("length-only", GOOD[:8], 2, "header length")
model_case("header-cut", GOOD[:8 + HLEN // 2], 2, "header length")
model_case("header-only", GOOD[:8 + HLEN], 2, "larger than the file's 0 data bytes")
model_case("data-cut-half", GOOD[:8 + HLEN + len(DATA) // 2], 2, "data_offsets")
model_case("data-cut-one-byte", GOOD[:-1], 2, "data_offsets")
model_case("trailing-garbage", GOOD + b"\0" * 3, 2, "the tensors cover %d of %d" % (len(DATA), len(DATA) + 3))
model_case("header-length-past-end", struct.pack("<Q", len(GOOD)) + GOOD[8:], 2, "header length")
model_case("header-length-huge", struct.pack("<Q", 2 ** 63) + GOOD[8:], 2, "header length")
model_case("header-not-json", struct.pack("<Q", 8) + b"not json" + DATA, 2, "JSON")
model_case("header-json-array", pack([]), 2, "not a JSON object")
# Tensors: offsets, dtypes, shapes.
model_case("offset-past-end", with_tensor("embed.word", data_offsets=[0, len(DATA) * 4]), 2, "out of range")
model_case("offset-reversed", with_tensor("embed.word", data_offsets=[100, 50]), 2, "[100, 50] out of range")
model_case("offset-negative", with_tensor("embed.word", data_offsets=[-4, 100]), 2, "two whole numbers")
model_case("offset-not-number", with_tensor("embed.word", data_offsets=["0", "4"]), 2, "two whole numbers")
model_case("offsets-overlap", with_tensor("heads.upos.bias", data_offsets=[
    HEADER["heads.upos.bias"]["data_offsets"][0] - 4, HEADER["heads.upos.bias"]["data_offsets"][1] - 4]), 2, "overlaps")
model_case("dtype-unknown", with_tensor("embed.word", dtype="F64"), 2, "not supported")
model_case("dtype-size-mismatch", with_tensor("embed.word", dtype="F16"), 2, "496 elements of F16 need 992 bytes")
model_case("dtype-not-string", with_tensor("embed.word", dtype=7), 2, "expected an object with \"dtype\"")
model_case("shape-disagrees-with-config", with_tensor("layers.0.attn.q.weight", shape=[8, 32]), 2,
           "layers.0.attn.q.weight")
model_case("shape-product-overflows", with_tensor("embed.word", shape=[2 ** 40, 2 ** 40]), 2, "larger than the file")
model_case("shape-terabytes", with_tensor("embed.word", shape=[2 ** 38, 16]), 2, "larger than the file")
model_case("shape-negative", with_tensor("embed.word", shape=[-1, 16]), 2, "not a whole number")
model_case("shape-too-many-dims", with_tensor("embed.word", shape=[1, 1, 1, 1, 1, 1, 1, 1, 1, 31, 16]), 2, "11 dimensions")
model_case("tensor-missing", pack({(k if k != "layers.1.ffn.up.weight" else "layers.1.ffn.upp.weight"): v
                                   for k, v in header().items()}), 2, "layers.1.ffn.up")
model_case("tensor-unexpected", pack(dict(header(), **{"layers.9.extra": {
    "dtype": "F32", "shape": [1], "data_offsets": [len(DATA), len(DATA) + 4]}}), DATA + b"\0" * 4), 2, "unexpected tensor")
# Weights.
model_case("weight-nan", with_data("embed.word", 0, struct.pack("<f", float("nan"))), 2, "non-finite")
model_case("weight-inf", with_data("layers.1.ffn.down.weight", 8, struct.pack("<f", float("inf"))), 2, "non-finite")
model_case("weight-changed-crc", with_data("embed.word", 0, struct.pack("<f", 0.125)), 2, "checksum mismatch")
# Vocabulary, tags, lexicon.
model_case("vocab-duplicate", duplicated("vocab"), 2, "twice")
model_case("vocab-invalid-utf8", with_data("vocab", 0, b"\xff"), 2, "UTF-8")
model_case("vocab-count-wrong", with_data("vocab", len(strings_of("vocab")[0]) + 1 + len(strings_of("vocab")[1]), b"x"),
           2, "the config implies [30, 16]")
model_case("tags-duplicate", duplicated("tags.xpos"), 2, "twice")
model_case("lexicon-bits-past-config", with_lexicon({"lexicon.bits": b"\x80" + lexicon_data("lexicon.bits")[1:]}),
           2, "lexicon entry 0 has bits 0x80 beyond the model's 4 lexicon bits")
# The lexicon's tables (docs/model-format.md): its checksum catches damage;
# tables that lie under a matching checksum keep lookups inside the words.
model_case("lexicon-changed-crc", with_data("lexicon.words", 0, b"Q"), 2,
           "checksum mismatch: attntag.lexicon.crc32c says")
model_case("lexicon-starts-without-crc", with_meta(**{"attntag.lexicon.crc32c": None}), 2,
           '"lexicon.starts" must hold 4 bytes for each of the')
model_case("lexicon-starts-short", with_lexicon({"lexicon.starts": lexicon_data("lexicon.starts")[:-4]}), 2,
           '"lexicon.starts" must hold 4 bytes for each of the')
model_case("lexicon-starts-without-index", with_lexicon({"lexicon.index": None}), 2, 'with "lexicon.index"')
model_case("lexicon-index-not-power-of-two", with_lexicon({"lexicon.index": lexicon_data("lexicon.index")[:-4]}),
           2, "times a power of two above the")
LYING_STARTS = with_lexicon({"lexicon.starts": b"\xff" * len(lexicon_data("lexicon.starts"))})
model_case("lexicon-starts-past-words", LYING_STARTS, 0, "")
case("model", "lexicon-starts-past-words-convert",
     lambda: ["convert", write("lying-starts.safetensors", LYING_STARTS), path("lying-out.json")], 2,
     "lexicon: word 0 starts at byte 0, lexicon.starts says 4294967295")
model_case("lexicon-index-past-words",
           with_lexicon({"lexicon.index": b"\xff" * len(lexicon_data("lexicon.index"))}), 0, "")
# a file written before the starts and the lexicon's checksum: the loader
# splits the words, and builds its own table when the file's does not hold
# each word once; either way the tags are the file's own
model_case("lexicon-without-starts", with_lexicon({"lexicon.starts": None}, sign=False), 0, "")
model_case("lexicon-without-starts-bad-index",
           with_lexicon({"lexicon.starts": None, "lexicon.index": b"\xff" * len(lexicon_data("lexicon.index"))},
                        sign=False), 0, "")
GOOD_TAGS = run(["-m", REF], b"The cat sat .\n")[1]
for _name in ("lexicon-without-starts", "lexicon-without-starts-bad-index"):
    CHECKS[_name] = lambda out: out == GOOD_TAGS
# Config.
model_case("config-unknown-key", with_config(colour="blue"), 2, "colour")
model_case("config-temperature-count", with_config(temperature=[1.0]), 2,
           '"temperature" must be an array of 2')
model_case("config-temperature-zero", with_config(temperature=[0, 1.5]), 2,
           "temperature[0] must be a number from 0.01 to 100")
model_case("config-temperature-text", with_config(temperature=["hot", 1]), 2, "temperature[0]")
model_case("config-mixer-count", with_config(mixer=["window"]), 2, '"mixer" must be an array of 2')
model_case("config-mixer-unknown", with_config(mixer=["attention", "conv"]), 2,
           'mixer[1] must be "attention", "window" or "none"')
model_case("config-mixer-window-zero", with_config(mixer=["attention", "window"]), 2,
           "window[1] is 0, a window mixer needs 1 to 16")
model_case("config-mixer-window-wide", with_config(mixer=["window", "attention"], window=[17, 0]),
           2, "window[0] is 17, a window mixer needs 1 to 16")
# a window mixer asks for its own tensors, which this file does not have
model_case("config-mixer-tensors", with_config(mixer=["window", "attention"]), 2,
           "layers.0.window.weight")
model_case("config-mistyped", with_config(dim="16"), 2, "dim")
model_case("config-missing-key", with_config(heads=None), 2, "heads")
model_case("config-dim-huge", with_config(dim=10 ** 8), 2, "dim is 100000000")
model_case("config-heads-not-dividing", with_config(heads=3), 2, "heads")
model_case("config-layers-negative", with_config(layers=-1), 2, "layers")
model_case("config-state-too-large", with_config(max_len=4096), 2, "more than attntag allows (512 MiB)")
model_case("config-not-json", with_meta(**{"attntag.config": "{dim"}), 2, "config")
model_case("format-unknown", with_meta(format="attntag-model-99"), 2, "not an attntag model")
model_case("json-model-truncated", json.dumps(JSON_MODEL).encode()[:1000], 2, "invalid JSON", ext="json")
model_case("json-model-wrong-type", json_model(vocab="abc"), 2, "vocab", ext="json")
model_case("json-model-nan-text", json.dumps(JSON_MODEL).encode().replace(b"[", b"[NaN, ", 1), 2, "invalid JSON", ext="json")
model_case("json-model-config-typo", json_config(hedas=4), 2, "hedas", ext="json")


# The 8-bit packs of an int8 model (docs/model-format.md): each damage comes
# with the packs' CRC-32C made to match, as a hostile writer would (crc32c).
REF8 = path("ref8.safetensors")
subprocess.run([BIN, "convert", "--int8", REF_JSON, REF8], check=True)
REF8_JSON = path("ref8.json")  # the same model without packs: rounded when loaded
subprocess.run([BIN, "convert", "--int8", REF_JSON, REF8_JSON], check=True)
with open(REF8, "rb") as f:
    GOOD8 = f.read()
(HLEN8,) = struct.unpack("<Q", GOOD8[:8])
HEADER8 = json.loads(GOOD8[8:8 + HLEN8])
DATA8 = GOOD8[8 + HLEN8:]
ROUNDED = subprocess.run([BIN, "-m", REF8_JSON, "-f", "tsv", "-s", "all", "--probs"],
                         input=b"The cat sat .\n", capture_output=True, check=True).stdout


def packed(h, data=DATA8, fix_crc=True):
    """A file of header h and data, the packs' CRC-32C recomputed."""
    h = json.loads(json.dumps(h))
    if fix_crc:
        crc = 0
        for name in sorted(k for k in h if k.endswith(".int8") or k.endswith(".int8_scale")):
            b, e = h[name]["data_offsets"]
            crc = crc32c(data[b:e], crc)
        h["__metadata__"]["attntag.int8.crc32c"] = "%08x" % crc
    raw = json.dumps(h, separators=(",", ":")).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def with_data8(name, offset, raw, fix_crc=True):
    b, _ = HEADER8[name]["data_offsets"]
    d = bytearray(DATA8)
    d[b + offset:b + offset + len(raw)] = raw
    return packed(HEADER8, bytes(d), fix_crc)


def with_tensor8(name, **changes):
    h = json.loads(json.dumps(HEADER8))
    h[name].update(changes)
    return packed(h)


def with_meta8(**changes):
    h = json.loads(json.dumps(HEADER8))
    for k, v in changes.items():
        if v is None:
            h["__metadata__"].pop(k, None)
        else:
            h["__metadata__"][k] = v
    return packed(h, fix_crc=False)


def renamed8(old, new):
    return packed({(new if k == old else k): v for k, v in HEADER8.items()})


def int8_case(name, content, status, fragment):
    args = ["-m", write(name + ".safetensors", content), "-f", "tsv", "-s", "all", "--probs"]
    case("model", name, lambda: args, status, fragment, b"The cat sat .\n")
    if status == 0:  # accepted: the tags and probabilities of rounding at load
        CHECKS[name] = lambda out: out == ROUNDED


# heads.upos: 5 tags, so lanes 5-15 of its one panel are padding; its 16
# inputs make 4 groups of 4 bytes: [1 panel, 4 groups, 16 lanes, 4 bytes]
int8_case("int8-accepted", GOOD8, 0, "")
int8_case("int8-shape-wrong", with_tensor8("heads.upos.int8", shape=[1, 2, 16, 8]), 2,
          'tensor "heads.upos.int8" is I8 [1, 2, 16, 8], the config implies I8 [1, 4, 16, 4]')
int8_case("int8-dtype-u8", with_tensor8("layers.0.attn.q.int8", dtype="U8"), 2,
          'tensor "layers.0.attn.q.int8" is U8 [1, 4, 16, 4], the config implies I8')
int8_case("int8-scale-shape", with_tensor8("heads.xpos.int8_scale", shape=[1, 7]), 2,
          'tensor "heads.xpos.int8_scale" is F32 [1, 7], the config implies F32 [7]')
int8_case("int8-byte-minus-128", with_data8("layers.1.ffn.up.int8", 70, b"\x80"), 2,
          'tensor "layers.1.ffn.up.int8": byte 70 (output 1, input 6) is -128')
int8_case("int8-padding-output", with_data8("heads.upos.int8", 4 * 15 + 1, b"\x01"), 2,
          'tensor "heads.upos.int8": padding of output 15 (of 5) is not 0')
int8_case("int8-scale-nan", with_data8("heads.upos.int8_scale", 4, struct.pack("<f", float("nan"))), 2,
          'tensor "heads.upos.int8_scale": the scale of output 1 is nan')
int8_case("int8-scale-negative", with_data8("layers.0.ffn.down.int8_scale", 0, struct.pack("<f", -0.5)), 2,
          'tensor "layers.0.ffn.down.int8_scale": the scale of output 0 is -0.5')
int8_case("int8-not-rounded", with_data8("heads.xpos.int8", 0, b"\0" * 256), 2,
          'tensor "heads.xpos.int8": output 0 has scale')
int8_case("int8-missing", renamed8("layers.1.attn.k.int8", "layers.7.attn.k.int8"), 2,
          'tensor "layers.1.attn.k.int8" is missing')
int8_case("int8-unexpected", packed(dict(json.loads(json.dumps(HEADER8)), **{"layers.1.attn.x.int8": {
    "dtype": "I8", "shape": [0], "data_offsets": [len(DATA8), len(DATA8)]}})), 2,
    'unexpected tensor "layers.1.attn.x.int8"')
int8_case("int8-crc-wrong", with_data8("layers.0.attn.v.int8", 3, b"\x05", fix_crc=False), 2,
          "attntag.int8.crc32c says")
int8_case("int8-no-layout", with_meta8(**{"attntag.int8.layout": None}), 2,
          "8-bit packs need the metadata attntag.int8.layout")
int8_case("int8-config-not-int8", packed(dict(json.loads(json.dumps(HEADER8)), __metadata__=dict(
    HEADER8["__metadata__"], **{"attntag.config": HEADER8["__metadata__"]["attntag.config"].replace(
        '"int8":true,', "")}))), 2, 'does not say "int8": true')
# not refused: a later layout, and packs made from other weights, are not used
int8_case("int8-other-layout-accepted", with_meta8(**{"attntag.int8.layout": "panel32x4"}), 0, "")
int8_case("int8-made-from-other-accepted", with_meta8(**{"attntag.int8.made_from": "00000000"}), 0, "")

# CoNLL-U, as tagging input (-i conllu) and as gold for eval.
def conllu(*rows):
    return ("\n".join("\t".join(r) if isinstance(r, tuple) else r for r in rows) + "\n\n").encode()


W = lambda i, form, upos="NOUN", xpos="NN": (str(i), form, form, upos, xpos, "_", "0", "root", "_", "_")
GOOD_SENT = [W(1, "The", "DET", "DT"), W(2, "cat"), W(3, "sat", "VERB", "VBD")]


def conllu_case(name, content, status, fragment):
    case("conllu", name, lambda: ["-m", REF, "-i", "conllu", write(name + ".conllu", content)], status, fragment)


conllu_case("missing-columns", conllu(W(1, "The")[:8]), 2, "expected 10 tab-separated CoNLL-U columns, found 8")
conllu_case("extra-columns", conllu(W(1, "The") + ("x",)), 2, "found 11")
conllu_case("id-not-numeric", conllu(("one",) + W(1, "The")[1:]), 2, "found ID \"one\"")
conllu_case("id-out-of-order", conllu(W(1, "The"), W(3, "cat"), W(2, "sat")), 2, "word ID 3, expected 2")
conllu_case("id-repeated", conllu(W(1, "The"), W(1, "cat")), 2, "word ID 1, expected 2")
conllu_case("id-zero", conllu(W(0, "The")), 2, "found ID \"0\"")
conllu_case("range-backwards", conllu(GOOD_SENT[0], ("2-1", "cat's") + ("_",) * 8, *GOOD_SENT[1:]), 2,
            "range 2-1, expected 2-N")
conllu_case("range-past-sentence", conllu(GOOD_SENT[0], ("2-9", "cat's") + ("_",) * 8, *GOOD_SENT[1:]), 2,
            "the range ends at word 9, but the sentence ends at word 3")
conllu_case("range-overlapping", conllu(("1-2", "Thecat") + ("_",) * 8, GOOD_SENT[0],
                                        ("2-3", "catsat") + ("_",) * 8, *GOOD_SENT[1:]), 2, "range 2-3")
conllu_case("empty-node-out-of-place", conllu(GOOD_SENT[0], ("2.1", "was") + ("_",) * 8, *GOOD_SENT[1:]), 2,
            "empty node 2.1, expected 1.1")
conllu_case("empty-node-accepted", conllu(*GOOD_SENT[:2], ("2.1", "was") + ("_",) * 8, GOOD_SENT[2]), 0, "")
conllu_case("empty-form", conllu(W(1, "")), 2, "FORM \"\"")
conllu_case("space-in-form-accepted", conllu(W(1, "10 000", "NUM", "CD")), 0, "")
conllu_case("comment-only-accepted", b"# just a comment\n\n", 0, "")
conllu_case("no-final-blank-line-accepted", conllu(*GOOD_SENT)[:-1], 0, "")
conllu_case("invalid-utf8-form", conllu(W(1, "caf\xe9")).replace(b"caf\xc3\xa9", b"caf\xe9"), 2, "UTF-8")
conllu_case("long-sentence-100k-words", conllu(*[W(i + 1, "word") for i in range(100000)]), 0, "")
CHECKS["long-sentence-100k-words"] = lambda out: out.count(b"\tword\tword\t") == 100000
CHECKS["empty-node-accepted"] = lambda out: b"\n2.1\twas\t_\t" in out and out.count(b"\n") == 5
CHECKS["space-in-form-accepted"] = lambda out: out.startswith(b"1\t10 000\t10 000\t")
CHECKS["no-final-blank-line-accepted"] = lambda out: out.count(b"\n") == 4
case("conllu", "eval-gold-missing-tag", lambda: ["eval", "-m", REF, write("gold-notag.conllu", conllu(
    W(1, "The", "DET", "DT"), ("2", "cat", "cat", "_", "NN", "_", "0", "root", "_", "_")))], 0, "")
# documented: tags compare as strings, so a gold "_" is a tag never predicted
CHECKS["eval-gold-missing-tag"] = lambda out: b"\n  _ " in out

# Text.
def text_case(name, stdin, status, fragment, args=()):
    case("text", name, lambda: ["-m", REF] + list(args), status, fragment, stdin)


text_case("invalid-utf8", b"ok\nbad \xc3\x28 here\n", 2, "<stdin>:2: invalid UTF-8")
text_case("nul-byte", b"a\x00b\n", 2, "<stdin>:1: NUL byte")
text_case("utf8-surrogate", b"x \xed\xa0\x80 y\n", 2, "invalid UTF-8")
text_case("utf8-overlong", b"x \xc0\xaf y\n", 2, "invalid UTF-8")
text_case("utf8-past-u10ffff", b"x \xf4\x90\x80\x80 y\n", 2, "invalid UTF-8")
text_case("utf8-cut-at-end", b"x \xe6\x88", 2, "invalid UTF-8")
text_case("bom-accepted", b"\xef\xbb\xbfThe cat .\n", 0, "")
text_case("crlf-accepted", b"The cat .\r\nA dog .\r\n", 0, "")
text_case("no-final-newline-accepted", b"The cat .", 0, "")
text_case("only-blank-lines-accepted", b"\n\n\n", 0, "")
# a line past 64 KiB is tagged in pieces cut at white space, a token past it cut too
text_case("token-100mb", b"a" * (100 << 20) + b" b\n", 0, "1 line longer than 65536 bytes")
CHECKS["token-100mb"] = lambda out: (out.startswith(b"a" * 65536 + b"_") and out.count(b"\n") == 1
                                     and out.count(b"a") == 100 << 20 and out.count(b" b_") == 1)
CHECKS["bom-accepted"] = lambda out: out.startswith(b"The_")
CHECKS["crlf-accepted"] = lambda out: b"\r" not in out and out.count(b"\n") == 2
CHECKS["no-final-newline-accepted"] = lambda out: out.startswith(b"The_") and out.endswith(b"\n")
CHECKS["only-blank-lines-accepted"] = lambda out: out == b"\n\n\n"
text_case("raw-invalid-utf8", b"Hello \xff world.\n", 2, "invalid UTF-8", ("--tokenize",))
text_case("raw-nul", b"Hello\x00 world.\n", 2, "NUL", ("--tokenize",))

# Training data.
TINY = ["--dim", "16", "--heads", "2", "--ffn", "32", "--char-buckets", "256", "--char-dim", "8",
        "--max-len", "16", "--min-count", "1", "--epochs", "1", "-q"]


def train_case(name, train, dev, status, fragment):
    case("train", name, lambda: ["train", "--train", write(name + "-train.conllu", train), "--dev",
                                 write(name + "-dev.conllu", dev), "-o", path(name + ".model")] + TINY,
         status, fragment)


ONE = conllu(*GOOD_SENT)
train_case("empty-corpus", b"", ONE, 2, "no words")
train_case("comments-only-corpus", b"# nothing\n\n", ONE, 2, "no words")
train_case("one-sentence-accepted", ONE, ONE, 0, "")
train_case("sentence-100k-words-accepted", conllu(*[W(i + 1, "w%d" % (i % 50)) for i in range(100000)]), ONE, 0, "")
train_case("unseen-tag-in-dev", ONE, conllu(W(1, "The", "DET", "DT"), W(2, "runs", "VERB", "VBZ")), 0, "")
train_case("tag-missing-in-train", conllu(W(1, "The", "_", "DT")), ONE, 2, "no upos tag (column 4 is '_')")
train_case("empty-dev", ONE, b"", 2, "-dev.conllu: no words")

if __name__ == "__main__":
    passed = failed = 0
    for kind, name, args, status, fragment, stdin in CASES:
        rc, out, err = run(args(), stdin)
        msg = err.strip().splitlines()[-1] if err.strip() else ""
        if SHOW:
            print(f"{kind:7} {name:32} {rc}  {msg[:150]}")
            continue
        ok = (rc == status and fragment in err and "Sanitizer" not in err and
              (rc != 2 or msg.startswith("attntag: ")) and CHECKS.get(name, lambda o: True)(out))
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {kind} {name}: exit {rc}, want {status}; want {fragment!r} in: {err.strip()[:300]}")
    shutil.rmtree(TMP, ignore_errors=True)
    if not SHOW:
        print(f"bad inputs: {len(CASES)} cases, {passed} passed, {failed} failed")
        sys.exit(1 if failed else 0)
