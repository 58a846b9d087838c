#!/usr/bin/python3
"""The Python package (python/attntag) against the attntag command: the same
tags and probabilities for the same tokens, running text tokenized as
--tokenize does, errors as exceptions, threads, the NLTK tagger, no growth
of memory over repeated tagging, and `pip install ./python` into a fresh
virtual environment with no package index.

Run by `make test` with Debian's python3 (python3-nltk, python3-venv,
python3-setuptools, python3-wheel), ATTNTAG_BIN set to the command and
ATTNTAG_LIB to the shared library under test. EWT dev (data/ud-en-ewt) is
used where it is there; the tests that need it say so when it is not."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import attntag  # noqa: E402
from corpus import read_conllu  # noqa: E402

BIN = os.environ.get("ATTNTAG_BIN", os.path.join(ROOT, "attntag"))
MODEL = os.path.join(ROOT, "models", "en-ewt.safetensors")
REF = os.path.join(ROOT, "tests", "fixtures", "ref_pre.json")
DEV = os.path.join(ROOT, "data", "ud-en-ewt", "en_ewt-ud-dev.conllu")
SAMPLE = os.path.join(ROOT, "data", "sample.conllu")
STORY = os.path.join(ROOT, "data", "story.txt")
TMP = tempfile.mkdtemp(prefix="attntag-python-")


def command(args, stdin=b""):
    p = subprocess.run([BIN, *args], input=stdin, capture_output=True)
    assert p.returncode == 0, "attntag %s: %s" % (" ".join(args), p.stderr.decode())
    return p.stdout


def conllu_sentences(path):
    """The word forms of each sentence of a CoNLL-U file, with their UPOS and XPOS."""
    return [[(c[1], c[3], c[4]) for c in s] for s in read_conllu(path)]


def tsv_sentences(out):
    """The command's tsv output: [[(token, tag, ...)]]."""
    res, cur = [], []
    for line in out.decode().split("\n"):
        if line:
            cur.append(tuple(line.split("\t")))
        elif cur:
            res.append(cur)
            cur = []
    return res


def command_tags(sentences, *opts):
    """The command's tags for token lists: [[(token, upos, xpos)]]."""
    vert = "".join("".join(t + "\n" for t in s) + "\n" for s in sentences).encode()
    return tsv_sentences(command(["-m", MODEL, "-i", "vertical", "-f", "tsv", "-s", "all", *opts],
                                 vert))


def dev_or_sample():
    """EWT dev's sentences, or (saying so) the sample's."""
    if os.path.exists(DEV):
        return [[w for w, _, _ in s] for s in conllu_sentences(DEV)], "EWT dev"
    print("python_test: %s is not there (make data links it): the sample's sentences stand "
          "in for EWT dev" % DEV)
    return [[w for w, _, _ in s] for s in conllu_sentences(SAMPLE)] * 50, "the sample"


class Tagging(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tagger = attntag.Tagger()
        cls.sentences, cls.where = dev_or_sample()
        cls.expected = command_tags(cls.sentences)

    @classmethod
    def tearDownClass(cls):
        cls.tagger.close()

    def test_same_tags_as_the_command(self):
        for threads in (1, 2):
            with attntag.Tagger(threads=threads) as t:
                got = t.tag_sents(self.sentences)
            self.assertEqual(len(got), len(self.expected))
            for k, (g, e) in enumerate(zip(got, self.expected)):
                self.assertEqual([(x.text, x.upos, x.xpos) for x in g], e,
                                 "%s sentence %d, %d threads" % (self.where, k + 1, threads))

    def test_one_sentence_at_a_time(self):
        for s, e in list(zip(self.sentences, self.expected))[:300]:
            self.assertEqual([(x.text, x.upos, x.xpos) for x in self.tagger.tag(s)], e)

    def test_probabilities_and_top_k(self):
        sents = self.sentences[:40]
        out = command(["-m", MODEL, "-i", "vertical", "-f", "json", "-s", "all", "--probs"],
                      "".join("".join(t + "\n" for t in s) + "\n" for s in sents).encode())
        rows = [json.loads(line) for line in out.decode().splitlines()]
        got = self.tagger.tag_sents(sents, probs=True, top=3)
        for g, r in zip(got, rows):
            for i, tok in enumerate(g):
                for ts in ("upos", "xpos"):
                    self.assertEqual(tok.tags[ts], r["tags"][ts][i])
                    self.assertAlmostEqual(tok.probs[ts], r["probs"][ts][i], places=5)
                    top = tok.top[ts]
                    self.assertEqual(len(top), 3)
                    self.assertEqual(top[0], (tok.tags[ts], tok.probs[ts]))
                    self.assertTrue(top[0][1] >= top[1][1] >= top[2][1])
                    self.assertLessEqual(sum(p for _, p in top), 1.0 + 1e-5)
        plain = self.tagger.tag(sents[0])
        self.assertIsNone(plain[0].probs)
        self.assertIsNone(plain[0].top)
        only_top = self.tagger.tag(sents[0], top=1)
        self.assertIsNone(only_top[0].probs)
        self.assertEqual(only_top[0].top["upos"][0][0], plain[0].upos)

    def test_tag_text_as_the_command_tokenizes(self):
        with open(STORY, encoding="utf-8") as f:
            text = f.read()
        text += "\n\nZürich's café — “naïve” ½ 我们喜欢猫。 Done.\r\n"
        want = tsv_sentences(command(["-m", MODEL, "--tokenize", "-f", "tsv", "-s", "all"],
                                     text.encode()))
        got = self.tagger.tag_text(text)
        self.assertEqual([[(t.text, t.upos, t.xpos) for t in s] for s in got], want)
        for s in got:
            for t in s:
                self.assertEqual(text[t.start:t.end], t.text)
        self.assertEqual(self.tagger.tag_text(""), [])
        self.assertEqual(self.tagger.tag_text(" \n\n \t"), [])

    def test_python_m_attntag_as_the_command(self):
        with open(os.path.join(ROOT, "data", "sentences.txt"), "rb") as f:
            text = f.read() + b"a\xc2\xa0b c\n\n  \nlast line"
        for opts in ([], ["-s", "all"], ["-s", "xpos"]):
            env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
            p = subprocess.run([sys.executable, "-m", "attntag", *opts], input=text,
                               capture_output=True, env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, command(["-m", MODEL, *opts], text), opts)
        p = subprocess.run([sys.executable, "-m", "attntag", "--tokenize"], input=text,
                           capture_output=True, env=env)
        self.assertEqual(p.stdout, command(["-m", MODEL, "--tokenize"], text))

    def test_info(self):
        i = self.tagger.info()
        self.assertEqual(list(i["tagsets"]), ["upos", "xpos"])
        self.assertIn("NOUN", i["tagsets"]["upos"])
        self.assertIn("NN", i["tagsets"]["xpos"])
        out = command(["info", MODEL]).decode()
        self.assertIn("parameters: %d\n" % i["parameters"], out)
        self.assertIn("vocabulary: %d words" % i["vocabulary"], out)
        self.assertIn("lexicon: %d words" % i["lexicon"], out)
        self.assertIn("weights checksum: %s" % i["checksum"], out)
        self.assertIn("EWT", i["trained_on"])
        self.assertIn("CC BY-SA 4.0", i["licence"])
        self.assertEqual(i["bytes"], os.path.getsize(MODEL))


class Readme(unittest.TestCase):
    def test_examples_print_what_readme_shows(self):
        """Each ```python block of README's "From Python" runs and prints the
        ```text block after it."""
        import contextlib
        import io
        import re
        with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        section = readme[readme.index("## From Python"):]
        section = section[:section.index("\n## ", 1)]
        pairs = re.findall(r"```python\n(.*?)```\n\n```text\n(.*?)```", section, re.S)
        self.assertEqual(len(pairs), 2)
        for code, want in pairs:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, "README.md", "exec"), {})
            self.assertEqual(out.getvalue(), want)


class Errors(unittest.TestCase):
    def test_missing_and_bad_models(self):
        with self.assertRaises(FileNotFoundError):
            attntag.Tagger(os.path.join(TMP, "no-such.safetensors"))
        bad = os.path.join(TMP, "bad.safetensors")
        with open(bad, "wb") as f:
            f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1}")
        with self.assertRaises(OSError) as cm:
            attntag.Tagger(bad)
        self.assertIn(bad, str(cm.exception))
        with self.assertRaises(ValueError):
            attntag.Tagger(threads=0)

    def test_bad_tokens(self):
        with attntag.Tagger() as t:
            self.assertEqual(t.tag([]), [])
            self.assertEqual(t.tag_sents([]), [])
            self.assertEqual(t.tag_sents([[], ["Hi"], []])[0], [])
            for tokens, kind, needle in (
                    (["ok", ""], ValueError, "sentence 1, token 2 is empty"),
                    (["ok", "a\0b"], ValueError, "NUL"),
                    (["bad \udcff"], ValueError, "not valid Unicode"),
                    (["ok", 3], TypeError, "not a str"),
            ):
                with self.assertRaises(kind) as cm:
                    t.tag(tokens)
                self.assertIn(needle, str(cm.exception))
            with self.assertRaises(TypeError):
                t.tag("a sentence as one string")
            # white space inside a token is part of it: one token, one tag
            two = t.tag(["New York", "is", "big\nand"])
            self.assertEqual([x.text for x in two], ["New York", "is", "big\nand"])
            with self.assertRaises(ValueError):
                t.tag_text("bad\0text")
            # text from invalid bytes decoded with surrogateescape: named by its place
            with self.assertRaises(ValueError) as cm:
                t.tag_sents([["ok"] * 50, ["fine", b"bad\xff".decode("utf-8", "surrogateescape")]])
            self.assertIn("sentence 2, token 2 is not valid Unicode", str(cm.exception))
            for bad in (-1, 1.5, True):
                with self.assertRaises((ValueError, TypeError)):
                    t.tag(["a"], top=bad)
        with self.assertRaises(ValueError):
            t.tag(["closed"])
        with self.assertRaises(ValueError):
            t.info()
        for bad in (0, 257, -3):
            with self.assertRaises(ValueError):
                attntag.Tagger(threads=bad)

    def test_the_library_prints_nothing(self):
        """Errors reach Python as exceptions; standard error stays empty."""
        code = ("import attntag\n"
                "for args in (('/no/such/model',), ('%s',)):\n"
                "    try:\n"
                "        attntag.Tagger(*args)\n"
                "    except OSError:\n"
                "        pass\n"
                "with attntag.Tagger() as t:\n"
                "    for bad in ([''], ['a\\0'], ['\\udcff']):\n"
                "        try:\n"
                "            t.tag(bad)\n"
                "        except ValueError:\n"
                "            pass\n"
                "    t.tag(['fine', '.'])\n" % REF.replace(".json", ".expect.json"))
        p = subprocess.run([sys.executable, "-c", code], capture_output=True,
                           env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python")))
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, b"", b""))

    def test_overflowing_model_named_with_its_sentence(self):
        with open(REF) as f:
            m = json.load(f)
        i = m["vocab"].index("dog")
        e = m["tensors"]["embed.word"]
        d = e["shape"][1]
        e["data"][i * d:(i + 1) * d] = [v * 1e38 for v in e["data"][i * d:(i + 1) * d]]
        path = os.path.join(TMP, "dog.json")
        with open(path, "w") as f:
            json.dump(m, f)
        sents = [["the", "cat"], ["the", "cat", "sat"], ["cat"], ["the", "cat"],
                 ["the", "dog", "runs"], ["the", "cat"]]
        for threads in (1, 2, 3):  # a later share names the sentence by its place in the call
            with attntag.Tagger(path, threads=threads) as t:
                t.tag(["the", "cat", "runs"])
                with self.assertRaises(ValueError) as cm:
                    t.tag_sents(sents)
                msg = str(cm.exception)
                self.assertIn("model %s: sentence 5" % path, msg)
                self.assertIn("not finite", msg)


class Life(unittest.TestCase):
    def test_copies_and_pickles_load_their_own_model(self):
        import copy
        import pickle
        from attntag.nltk import AttntagTagger
        words = ["I", "saw", "her", "duck", "."]
        t = attntag.Tagger(threads=2)
        for other in (copy.copy(t), copy.deepcopy(t), pickle.loads(pickle.dumps(t))):
            self.assertEqual((other.model_path, other.threads), (t.model_path, 2))
            self.assertEqual(other.tag(words), t.tag(words))
            other.close()
        t.close()
        with AttntagTagger("upos") as n:
            back = pickle.loads(pickle.dumps(n))
            self.assertEqual(back.tag(words), n.tag(words))
            back.close()

    def test_relative_model_path_kept_absolute(self):
        here = os.getcwd()
        os.chdir(os.path.join(ROOT, "models"))
        try:
            t = attntag.Tagger(os.path.basename(MODEL))
        finally:
            os.chdir(here)
        with t:
            self.assertEqual(t.model_path, MODEL)
            self.assertEqual(t.info()["bytes"], os.path.getsize(MODEL))

    def test_close_while_another_thread_tags(self):
        sents, _ = dev_or_sample()
        t = attntag.Tagger()
        started, done, result = threading.Event(), threading.Event(), []

        def work():
            started.set()
            try:
                result.append(t.tag_sents(sents * 2))
            except ValueError as e:  # closed before the call began: refused, not crashed
                result.append(e)
            done.set()
        th = threading.Thread(target=work)
        th.start()
        started.wait()
        refused = 0
        while not done.is_set():
            try:
                t.close()
                break  # the call had not begun, or had ended
            except RuntimeError:
                refused += 1
        th.join()
        if isinstance(result[0], ValueError):
            self.assertIn("closed", str(result[0]))
        else:
            self.assertEqual(len(result[0]), 2 * len(sents))
        t.close()
        with self.assertRaises(ValueError):
            t.tag(["x"])


class Module(unittest.TestCase):
    def run_module(self, stdin, *opts):
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
        return subprocess.run([sys.executable, "-m", "attntag", *opts], input=stdin,
                              capture_output=True, env=env)

    def test_as_the_command_on_edges(self):
        for text in (b"", b"\xef\xbb\xbfHello world .\n", b"ok\nbad \xff x\nnever\n",
                     b"no newline", b"\n\n"):
            p = self.run_module(text)
            c = subprocess.run([BIN, "-m", MODEL], input=text, capture_output=True)
            self.assertEqual(p.stdout, c.stdout, text)
            self.assertEqual(p.returncode != 0, c.returncode != 0, text)
            if c.returncode:
                self.assertIn(b"<stdin>:2: invalid UTF-8 at byte 5 of the line", p.stderr)
                self.assertNotIn(b"attntag: attntag", p.stderr)

    def test_quiet_when_the_reader_goes(self):
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
        p = subprocess.run("yes 'a b c .' | head -200000 | %s -m attntag | head -1"
                           % sys.executable, shell=True, capture_output=True, env=env)
        self.assertEqual(p.stdout, b"a_DET b_NOUN c_NOUN ._PUNCT\n")
        self.assertEqual(p.stderr, b"")


class Threads(unittest.TestCase):
    def test_one_tagger_many_threads(self):
        sents, _ = dev_or_sample()
        sents = sents[:400]
        with attntag.Tagger() as t:
            want = t.tag_sents(sents, probs=True)
            results, errors = {}, []

            def work(k):
                try:
                    part = sents[k::4]
                    results[k] = [t.tag_sents(part, probs=True), [t.tag(s) for s in part[:30]]]
                except Exception as e:
                    errors.append(e)
            threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            self.assertEqual(errors, [])
            for k in range(4):
                self.assertEqual(results[k][0], want[k::4])
                self.assertEqual([[x.tags for x in s] for s in results[k][1]],
                                 [[x.tags for x in s] for s in want[k::4][:30]])


class Memory(unittest.TestCase):
    def test_repeated_tagging_keeps_memory_flat(self):
        sents, where = dev_or_sample()

        def rss_kib():
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        with attntag.Tagger() as t:
            for _ in range(2):
                t.tag_sents(sents)
            base = rss_kib()
            for _ in range(18):
                t.tag_sents(sents)
            grown = rss_kib() - base
        # a leak of even 4 bytes a token would be 2 MB over 18 passes of EWT dev
        print("\npython_test: %s tagged 20 times in one process: resident memory grew by %d KiB "
              "from the 2nd pass to the 20th" % (where, grown), file=sys.stderr)
        self.assertLess(grown, 2048, "%s x20: resident memory grew by %d KiB" % (where, grown))


class NLTK(unittest.TestCase):
    def test_tagger_interface(self):
        from nltk.tag.api import TaggerI
        from attntag.nltk import AttntagTagger
        gold = conllu_sentences(SAMPLE)
        with AttntagTagger() as penn, AttntagTagger(tagset="upos") as ud:
            self.assertIsInstance(penn, TaggerI)
            words = [w for w, _, _ in gold[0]]
            want = command_tags([words])[0]
            self.assertEqual(penn.tag(words), [(w, x) for w, _, x in want])
            self.assertEqual(ud.tag(words), [(w, u) for w, u, _ in want])
            self.assertEqual(penn.tag_sents([words, words]), [penn.tag(words)] * 2)
            tagged = [[(w, x) for w, _, x in s] for s in gold]
            right = sum(p == g for s, gs in zip(penn.tag_sents([[w for w, _ in s] for s in tagged]),
                                                tagged) for p, g in zip(s, gs))
            self.assertAlmostEqual(penn.accuracy(tagged), right / sum(map(len, tagged)))
        with self.assertRaises(ValueError):
            AttntagTagger(tagset="lemma")


class Install(unittest.TestCase):
    def test_pip_install_offline_into_a_fresh_venv(self):
        venv = os.path.join(TMP, "venv")
        py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        subprocess.run([py, "-m", "venv", "--system-site-packages", venv], check=True)
        # the package's folder copied beside the tree's Makefile, sources and
        # build, so that pip's build in place writes nothing into the tree
        tree = os.path.join(TMP, "tree")
        shutil.copytree(os.path.join(ROOT, "python"), os.path.join(tree, "python"),
                        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        for name in ("Makefile", "src", "models", "build"):
            os.symlink(os.path.join(ROOT, name), os.path.join(tree, name))
        env = {k: v for k, v in os.environ.items() if k not in ("ATTNTAG_LIB", "ATTNTAG_MODEL",
                                                                "PYTHONPATH")}
        p = subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--no-index",
                            "--no-build-isolation", os.path.join(tree, "python")],
                           capture_output=True, env=env)
        self.assertEqual(p.returncode, 0, p.stdout.decode()[-2000:] + p.stderr.decode())
        p = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                            "import attntag, sys; t = attntag.Tagger(); "
                            "print(attntag.library_path); print(attntag.default_model()); "
                            "print(' '.join(x.text + '_' + x.upos for x in "
                            "t.tag(['I', 'saw', 'her', 'duck', '.'])))"],
                           capture_output=True, env=env, cwd=TMP)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        lib, model, tagged = p.stdout.decode().splitlines()
        self.assertTrue(lib.startswith(venv), lib)
        self.assertTrue(model.startswith(venv), model)
        self.assertEqual(tagged.encode() + b"\n", command(["-m", MODEL], b"I saw her duck .\n"))


if __name__ == "__main__":
    try:
        unittest.main(verbosity=1)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
