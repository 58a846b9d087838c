"""python3 -m attntag: tag standard input, one sentence of space-separated
tokens per line, and print token_TAG pairs as the command does by default (its
first tag set, unless -s says); or, with --tokenize, tag running text. Everything else
the command does (other formats, batch mode, eval, train) is the attntag
command's."""
import argparse
import re
import sys

from . import Tagger


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python3 -m attntag",
        description="Tag standard input with attntag: one sentence of space-separated tokens "
                    "per line, printed as token_TAG pairs (the model's first tag set unless -s says). For other "
                    "formats, files, eval and training, use the attntag command.")
    ap.add_argument("-m", "--model", help="model file (default: the bundled model)")
    ap.add_argument("-s", "--tagset", help="tag sets to print, comma-separated, or 'all' "
                    "(default: the first)")
    ap.add_argument("--tokenize", action="store_true",
                    help="the input is running text: tokenize and split it into sentences")
    a = ap.parse_args(argv)
    try:
        with Tagger(a.model) as tagger:
            names = (tagger.tagsets if a.tagset == "all" else
                     a.tagset.split(",") if a.tagset else tagger.tagsets[:1])
            for ts in names:
                if ts not in tagger.tagsets:
                    ap.error("the model has no tag set %r (it has: %s)"
                             % (ts, ", ".join(tagger.tagsets)))
            text = sys.stdin.read()
            if a.tokenize:
                sentences = tagger.tag_text(text)
            else:
                # lines split as the command splits them: at ASCII white space only
                sentences = tagger.tag_sents([w for w in re.split("[ \t\v\f\r]+", line) if w]
                                             for line in text.split("\n")[:-1 if text.endswith("\n") else None])
            out = sys.stdout
            for sent in sentences:
                out.write(" ".join(t.text + "".join("_" + t.tags[ts] for ts in names)
                                   for t in sent) + "\n")
    except (OSError, ValueError) as e:
        print("python3 -m attntag: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
