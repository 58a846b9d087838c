"""python3 -m attntag: tag standard input, one sentence of white-space
separated tokens per line, and print token_TAG pairs as the command does by
default (its first tag set, unless -s says); or, with --tokenize, tag
running text. Lines are tagged as they arrive, in batches of what is there
to read, so that the module works in a pipe as the command does. Everything
else the command does (other formats, batch mode, eval, train) is the
attntag command's."""
import argparse
import os
import re
import sys

from . import Tagger

PROG = "python3 -m attntag"
SPACE = re.compile("[ \t\v\f\r]+")  # the command's white space on a line


class InputError(Exception):
    pass


def sentences_of(lines, first_line):
    """Token lists of lines (bytes, without their newline), up to the first
    that is not UTF-8; and that line's error, or None."""
    out = []
    for k, line in enumerate(lines):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as e:
            return out, InputError("<stdin>:%d: invalid UTF-8 at byte %d of the line (expected "
                                   "UTF-8 text)" % (first_line + k, e.start + 1))
        out.append([w for w in SPACE.split(text) if w])
    return out, None


def batches(stream):
    """Lists of whole lines as they can be read, a byte-order mark dropped."""
    rest, first = b"", True
    while True:
        chunk = stream.read1(1 << 16)
        if first and chunk.startswith(b"\xef\xbb\xbf"):
            chunk = chunk[3:]
        first = False
        if not chunk:
            if rest:
                yield [rest]
            return
        rest += chunk
        *lines, rest = rest.split(b"\n")
        if lines:
            yield lines


def write_sentences(out, sentences, names):
    out.write("".join(" ".join(t.text + "".join("_" + t.tags[ts] for ts in names)
                               for t in sent) + "\n" for sent in sentences).encode("utf-8"))
    out.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog=PROG,
        description="Tag standard input with attntag: one sentence of tokens separated by "
                    "white space per line, printed as token_TAG pairs (the model's first tag "
                    "set unless -s says), each batch of lines as soon as it is read. For "
                    "other formats, files, eval and training, use the attntag command.")
    ap.add_argument("-m", "--model", help="model file (default: the bundled model)")
    ap.add_argument("-s", "--tagset", help="tag sets to print, comma-separated, or 'all' "
                    "(default: the first)")
    ap.add_argument("--tokenize", action="store_true",
                    help="the input is running text: tokenize it and split it into sentences "
                    "(read whole before tagging)")
    a = ap.parse_args(argv)
    stdin, out = sys.stdin.buffer, sys.stdout.buffer
    try:
        with Tagger(a.model) as tagger:
            names = (tagger.tagsets if a.tagset == "all" else
                     a.tagset.split(",") if a.tagset else tagger.tagsets[:1])
            for ts in names:
                if ts not in tagger.tagsets:
                    ap.error("the model has no tag set %r (it has: %s)"
                             % (ts, ", ".join(tagger.tagsets)))
            if a.tokenize:
                text = b"".join(b"\n".join(lines) + b"\n" for lines in batches(stdin))
                try:
                    decoded = text.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise InputError("<stdin>:%d: not valid UTF-8 (%s)"
                                     % (text.count(b"\n", 0, e.start) + 1, e.reason))
                write_sentences(out, tagger.tag_text(decoded), names)
                return 0
            line_no = 1
            for lines in batches(stdin):
                sentences, bad = sentences_of(lines, line_no)
                write_sentences(out, tagger.tag_sents(sentences), names)
                if bad:  # the lines before it are written, as the command does
                    raise bad
                line_no += len(lines)
    except BrokenPipeError:
        # the reader went away (| head): stop quietly, as the command does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OSError, ValueError, InputError) as e:
        msg = str(e)
        print("%s: %s" % (PROG, msg[len("attntag: "):] if msg.startswith("attntag: ") else msg),
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
