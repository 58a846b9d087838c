#!/usr/bin/env python3
"""man_examples.py - every example in the EXAMPLES section of man/attntag.1,
run as written, in order, in one scratch directory that holds the
repository's data/, models/ and tools/ (with the built attntag first on
PATH). Part of `make check`.

Each .EX/.EE block of the section is one of:
  - commands: lines starting "$ " (a command goes on over further lines
    until bash finds it complete), each followed by the output it must print
    on standard output, if any is shown. A line "^C" after a command means:
    interrupt it (SIGINT) two seconds after it started; it must then exit with
    status 130 and the lines after "^C" must end its standard error.
  - a script, when the line before .EX is '.\\" test: bash script': run
    whole by bash; it must succeed and print something.
  - no command at all, when the line before .EX is '.\\" test: not run: WHY'.
A block that is none of these is an error, so that no example escapes.

Output is compared line by line; runs of blanks match runs of blanks (the
page shows tabs as spaces) and blank lines at the end of the output are
not compared; "..." alone on a line stands for any number of
lines, and within a line for any text; numbers may differ by one in their
last digit or by one part in a thousand (other processors run other
kernels). A command that shows no output must exit with status 0 and write
something (on standard output or to a file). A block with a command that
needs the UD treebanks (data/ud-en-ewt) is skipped, and said to be, when
`make data` has not put them there.

usage: tests/man_examples.py [ATTNTAG]        (from the repository root)
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

NUM = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"


def unescape(line):
    """The text groff prints for the escapes used in the examples."""
    for esc, text in (("\\(aq", "'"), ("\\(dq", '"'), ("\\-", "-"), ("\\&", ""),
                      ("\\e", "\\")):
        line = line.replace(esc, text)
    if re.search(r"\\[(*fs]", line):
        raise ValueError(f"unhandled groff escape in example line: {line!r}")
    return line


def blocks(page):
    """(first line number, marker, lines) of each .EX block in EXAMPLES."""
    lines = page.split("\n")
    try:
        start = lines.index(".SH EXAMPLES")
    except ValueError:
        sys.exit("man_examples: no EXAMPLES section in the man page")
    out, i, marker = [], start + 1, None
    while i < len(lines) and not lines[i].startswith(".SH"):
        if lines[i].startswith('.\\" test:'):
            marker = lines[i][len('.\\" test:'):].strip()
        elif lines[i] == ".EX":
            first, body = i + 2, []
            i += 1
            while lines[i] != ".EE":
                body.append(unescape(lines[i]))
                i += 1
            out.append((first, marker, body))
            marker = None
        i += 1
    return out


def complete(cmd):
    return subprocess.run(["bash", "-n", "-c", cmd], capture_output=True).returncode == 0 \
        and not cmd.rstrip().endswith(("\\", "|", "&&"))


def commands(body):
    """[(command, expected lines, interrupted)] of a block of "$ " lines."""
    out, i = [], 0
    while i < len(body):
        if not body[i].startswith("$ "):
            raise ValueError(f"expected a '$ ' command, found {body[i]!r}")
        cmd = body[i][2:]
        i += 1
        while not complete(cmd):
            if i == len(body):
                raise ValueError(f"command does not end: {cmd!r}")
            cmd += "\n" + body[i]
            i += 1
        want, ctrl_c = [], False
        while i < len(body) and not body[i].startswith("$ "):
            if body[i] == "^C":
                ctrl_c = True
                want = []
            else:
                want.append(body[i])
            i += 1
        out.append((cmd, want, ctrl_c))
    return out


def line_matches(want, got):
    parts = re.split(r"(\.\.\.|" + NUM + r"|\s+)", want)
    pattern, nums = "", []
    for p in parts:
        if p == "...":
            pattern += ".*"
        elif p and re.fullmatch(NUM, p):
            pattern += "(" + NUM + ")"
            nums.append(p)
        elif p and p.isspace():
            pattern += r"\s+"
        else:
            pattern += re.escape(p)
    m = re.fullmatch(pattern, got.rstrip())
    if not m:
        return False
    for w, g in zip(nums, m.groups()):
        decimals = len(w.split(".")[1]) if "." in w and "e" not in w.lower() else 0
        if abs(float(w) - float(g)) > max(10 ** -decimals, 1e-3 * abs(float(w))) + 1e-12:
            return False
    return True


def lines_match(want, got):
    memo = {}

    def m(i, j):
        if (i, j) not in memo:
            if i == len(want):
                r = j == len(got)
            elif want[i].strip() == "...":
                r = m(i + 1, j) or (j < len(got) and m(i, j + 1))
            else:
                r = j < len(got) and line_matches(want[i], got[j]) and m(i + 1, j + 1)
            memo[i, j] = r
        return memo[i, j]
    sys.setrecursionlimit(max(10000, 4 * (len(want) + len(got))))
    return m(0, 0)


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "./attntag")
    if os.path.basename(binary) != "attntag":
        sys.exit(f"man_examples: {binary} is not named attntag")
    repo = os.getcwd()
    with open(os.path.join(repo, "man", "attntag.1"), encoding="utf-8") as f:
        page_blocks = blocks(f.read())
    have_ud = os.path.isfile(os.path.join(repo, "data", "ud-en-ewt", "en_ewt-ud-test.conllu"))
    scratch = tempfile.mkdtemp(prefix="attntag-man-")
    for name in ("data", "models", "tools"):
        os.symlink(os.path.join(repo, name), os.path.join(scratch, name))
    env = dict(os.environ, PATH=os.path.dirname(binary) + os.pathsep + os.environ["PATH"],
               ATTNTAG_MODEL=os.path.join(repo, "models", "en-ewt.safetensors"))
    ran = failed = skipped = exempt = 0

    def fail(line, what, detail=""):
        nonlocal failed
        failed += 1
        print(f"FAIL man/attntag.1:{line}: {what}")
        if detail:
            print("    " + detail.rstrip().replace("\n", "\n    "))

    def wrote_something(since):
        for root, _, files in os.walk(scratch):
            for name in files:
                if os.path.getmtime(os.path.join(root, name)) >= since:
                    return True
        return False

    try:
        for line, marker, body in page_blocks:
            if marker and marker.startswith("not run:"):
                exempt += 1
                continue
            if marker == "bash script":
                ran += 1
                r = subprocess.run(["bash", "-c", "\n".join(body)], cwd=scratch, env=env,
                                   capture_output=True, text=True, timeout=600)
                if r.returncode != 0 or not r.stdout:
                    fail(line, f"script exited {r.returncode}, printed {len(r.stdout)} bytes",
                         r.stderr)
                continue
            if marker:
                fail(line, f"unknown test marker {marker!r}")
                continue
            try:
                cmds = commands(body)
            except ValueError as e:
                fail(line, f"{e} (mark a block that is not an example: "
                     "'.\\\" test: not run: WHY')")
                continue
            needs_ud = not have_ud and any("ud-en-ewt" in cmd for cmd, _, _ in cmds)
            for cmd, want, ctrl_c in cmds:
                if needs_ud:  # the block's other commands use what those make
                    skipped += 1
                    print(f"skipped (no data/ud-en-ewt: run make data): {cmd.splitlines()[0]}")
                    continue
                ran += 1
                since = time.time() - 1
                proc = subprocess.Popen(["bash", "-c", cmd], cwd=scratch, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, start_new_session=True)
                if ctrl_c:
                    try:
                        proc.wait(timeout=2)
                    except subprocess.TimeoutExpired:
                        os.killpg(proc.pid, signal.SIGINT)
                out, err = proc.communicate(timeout=1800)
                got = out.rstrip("\n").split("\n") if out else []  # blank lines at the end unseen
                if ctrl_c:
                    tail = err.replace("\r", "\n").rstrip("\n").split("\n")[-len(want):]
                    if proc.returncode != 130 or not lines_match(want, tail):
                        fail(line, f"interrupted, exited {proc.returncode} (want 130): {cmd}",
                             err)
                elif proc.returncode != 0:
                    fail(line, f"exit status {proc.returncode}: {cmd}", err)
                elif want and not lines_match(want, got):
                    fail(line, f"output differs from the page: {cmd}",
                         "page:\n" + "\n".join(want) + "\ngot:\n" + out)
                elif not want and not out and not wrote_something(since):
                    fail(line, f"wrote nothing: {cmd}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"man examples: {ran} run, {failed} failed, "
          f"{skipped} skipped (no treebank), {exempt} blocks not examples")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
