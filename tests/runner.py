"""Running the attntag under test (ATTNTAG_BIN, else the repository's
./attntag) from the Python tests, without the caller's ATTNTAG_MODEL."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("ATTNTAG_BIN", os.path.join(ROOT, "attntag"))


def run(args, stdin=b"", env=None, binary=BIN):
    """(exit status, standard output, standard error as text)"""
    e = dict(os.environ)
    e.pop("ATTNTAG_MODEL", None)
    e.update(env or {})
    p = subprocess.run([binary] + args, input=stdin, capture_output=True, env=e, timeout=120)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")
