"""Command-line tests: bad model files (exit 2 and what is wrong), conversion, info and where the model comes from. Run by tests/cli_test.py."""
from cli_common import *  # noqa: F401,F403  (the shared fixtures and helpers)


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
