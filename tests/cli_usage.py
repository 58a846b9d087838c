"""Command-line tests: help, version and usage errors. Run by tests/cli_test.py."""
from cli_common import *  # noqa: F401,F403  (the shared fixtures and helpers)


# --- help, version, usage ------------------------------------------------------

@test
def help_names_every_option():
    rc, out, _ = run(["--help"])
    assert rc == 0
    for opt in ["--model", "--input", "--tokenize", "--format", "--tagset", "--probs", "--top",
                "--line-buffered", "--version", "convert", "info"]:
        assert opt.encode() in out, opt


@test
def version():
    rc, out, _ = run(["--version"])
    assert rc == 0 and out.startswith(b"attntag "), out


@test
def usage_errors_exit_1():
    expect(["--input", "bogus"], 1, "unknown format 'bogus'")
    expect(["--format", "xml"], 1, "unknown format 'xml'")
    expect(["--top", "0", "-f", "json"], 1, "--top")
    expect(["-m", REF, "--probs"], 1, "--probs needs --format json or tsv")
    expect(["-m", REF, "--top", "2", "-f", "tsv"], 1, "--top needs --format json")
    expect(["--no-such-option"], 1, "Try 'attntag --help'")
    expect(["-m", REF, "--tagset", "nope"], 1, 'no tag set "nope"')
    expect(["convert", "only-one"], 1, "two files")
