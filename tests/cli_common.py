#!/usr/bin/env python3
"""What the command-line tests (tests/cli_*.py, run by tests/cli_test.py)
share: the attntag under test, the fixtures, a scratch directory, the @test
decorator that runs each test and counts it, and helpers more than one
command's tests use."""
import json
import os
import shutil
import traceback
import struct
import subprocess
import sys
import tempfile

from crc32c import crc32c
from runner import BIN, ROOT, run

FIX = os.path.join(ROOT, "tests", "fixtures")
REF = os.path.join(FIX, "ref_pre.json")
TMP = tempfile.mkdtemp(prefix="attntag-cli-")
passed, failed = 0, 0


def test(fn):
    global passed, failed
    try:
        fn()
        passed += 1
    except Exception as ex:  # a crash of the test is a failure too
        failed += 1
        print(f"FAIL {fn.__name__}: {type(ex).__name__}: {ex}")
        # the failing line of the test, for an assertion without a message
        print("    " + traceback.extract_tb(ex.__traceback__)[-1].line)
    return fn


def expect(args, status, needle, stdin=b""):
    rc, out, err = run(args, stdin)
    assert rc == status, f"{args}: exit {rc}, want {status}; stderr: {err}"
    assert needle in err, f"{args}: stderr {err!r} lacks {needle!r}"
    return out


def tmp(name):
    return os.path.join(TMP, name)


def ref_binary():
    path = tmp("ref.safetensors")
    if not os.path.exists(path):
        rc, _, err = run(["convert", REF, path])
        assert rc == 0, err
    with open(path, "rb") as f:
        return f.read()


def header_of(data):
    (n,) = struct.unpack("<Q", data[:8])
    return n, json.loads(data[8:8 + n])


def rebuild(header, data_part):
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data_part


def damaged(name, content):
    path = tmp(name)
    with open(path, "wb") as f:
        f.write(content)
    return path


def numbers(obj):
    """Every number in a JSON value, in order."""
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        return [obj]
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in numbers(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in numbers(v)]
    return []


def ewt(name):
    """A file of UD English EWT: data/ud-en-ewt (make data), else the shared copy
    beside the repository; None if neither is there."""
    for d in (os.path.join(ROOT, "data", "ud-en-ewt"),
              os.path.join(os.path.dirname(ROOT), "shared", "data", "ud-en-ewt")):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


TINY = ["--train", os.path.join(FIX, "tiny_train.conllu"), "--dev", os.path.join(FIX, "tiny_dev.conllu"),
        "--dim", "16", "--heads", "2", "--ffn", "32", "--char-buckets", "256", "--char-dim", "8",
        "--max-len", "16", "--min-count", "1", "--batch-tokens", "120", "--lr", "0.005", "--ema", "0.9"]


def tiny_model():
    out = tmp("eval.safetensors")
    if not os.path.exists(out):
        rc, _, err = run(["train"] + TINY + ["-o", out, "--epochs", "2", "-q"])
        assert rc == 0, err
    return out


def scratch(name):
    """An empty directory of its own under TMP."""
    d = tmp(name)
    shutil.rmtree(d, ignore_errors=True)
    os.mkdir(d)
    return d


def finish(name):
    """The scratch directory removed, the count printed; the exit status."""
    shutil.rmtree(TMP, ignore_errors=True)
    print(f"{name}: {passed} passed, {failed} failed")
    return 1 if failed else 0
