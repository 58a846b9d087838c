"""attntag from Python: the attntag part-of-speech tagger (stacked
multi-head self-attention and fully-connected layers, in C) through its
library, libattntag, with the standard library alone.

    >>> import attntag
    >>> with attntag.Tagger() as tagger:
    ...     [(t.text, t.upos, t.xpos) for t in tagger.tag(["I", "saw", "her", "duck", "."])]
    [('I', 'PRON', 'PRP'), ('saw', 'VERB', 'VBD'), ('her', 'PRON', 'PRP$'), ('duck', 'NOUN', 'NN'), ('.', 'PUNCT', '.')]

The bundled English model is used unless a model file is named. Tagging
gives the same tags as the `attntag` command, to the bit, on every path of
the library's kernels. For NLTK, see attntag.nltk.AttntagTagger.
library_path is the path of the libattntag this package runs.
"""
import ctypes
import json
import operator
import os
import threading
from array import array

from . import _lib

__all__ = ["Tagger", "Token", "default_model", "library_path"]
__version__ = "0.1.0"

_HERE = os.path.dirname(os.path.abspath(__file__))
_MODEL_NAME = "en-ewt.safetensors"

library_path = _lib.path
_MAX_THREADS = 256  # the library's AT_MAX_THREADS


def default_model():
    """The model used when none is named, found as the command finds it:
    $ATTNTAG_MODEL; else the model installed with this package; else a
    source checkout's models/; else where `make install` put it."""
    env = os.environ.get("ATTNTAG_MODEL")
    if env:
        return env
    for path in (os.path.join(_HERE, "models", _MODEL_NAME),
                 os.path.join(_lib._SOURCE_TREE, "models", _MODEL_NAME),
                 os.path.join(os.path.dirname(library_path), "..", "share", "attntag",
                              _MODEL_NAME),
                 os.path.join("/usr/local/share/attntag", _MODEL_NAME),
                 os.path.join("/usr/share/attntag", _MODEL_NAME)):
        if os.path.exists(path):
            return path
    raise FileNotFoundError("attntag: no model: name one (Tagger(model=PATH)) or set "
                            "ATTNTAG_MODEL (the bundled %s was not found beside the package, "
                            "in a source checkout or under /usr/local/share/attntag)"
                            % _MODEL_NAME)


class Token:
    """One tagged token: its text, its tag in each of the model's tag sets
    (tags; upos and xpos are those of the tag sets of these names, or None),
    and when asked for, the probability of each chosen tag (probs) and the k
    most probable tags of each tag set with their probabilities (top).
    start and end: its place in the text given to tag_text, in characters
    (None for tokens given as such)."""
    __slots__ = ("text", "upos", "xpos", "tags", "probs", "top", "start", "end")
    __hash__ = None  # compared by value, and changeable: not a dict key

    def __init__(self, text, tags, probs=None, top=None, start=None, end=None):
        self.text = text
        self.tags = tags
        self.upos = tags.get("upos")
        self.xpos = tags.get("xpos")
        self.probs = probs
        self.top = top
        self.start = start
        self.end = end

    def __repr__(self):
        extra = "" if self.start is None else ", start=%d, end=%d" % (self.start, self.end)
        return "Token(%r, %s%s)" % (self.text, ", ".join(
            "%s=%r" % kv for kv in self.tags.items()), extra)

    def __eq__(self, other):
        return isinstance(other, Token) and all(
            getattr(self, a) == getattr(other, a) for a in self.__slots__)


class _Session:
    """A libattntag session: run state and token features for one thread."""

    def __init__(self, model):
        err = _lib._Error()
        p = ctypes.c_void_p()
        if _lib.lib.at_session_new(model, ctypes.byref(p), ctypes.byref(err)):
            _lib.raise_error(err)
        self.p = p

    def free(self):
        if self.p:
            _lib.lib.at_session_free(self.p)
            self.p = None


class Tagger:
    """A loaded model, ready to tag.

    model: a model file (.safetensors or .json); None for the default
    (default_model()). threads: how many threads tag_sents may use (default
    1); each runs a share of the sentences, and the tags do not depend on it.

    A Tagger may be used from several Python threads at once: each call
    takes a session of its own (run state and buffers) from a pool, and the
    library runs without holding the interpreter lock. close() (or leaving a
    with block) frees the model; the Tagger cannot tag afterwards. A copy or
    an unpickled Tagger loads its model anew (for multiprocessing).

    Attributes: model_path (the model file, absolute), tagsets (the model's
    tag set names, in order), threads."""

    def __init__(self, model=None, threads=None):
        self._model = None
        self._pool = []
        self._lock = threading.Lock()
        self._busy = 0
        threads = 1 if threads is None else _whole(threads, "threads")
        if not 1 <= threads <= _MAX_THREADS:
            raise ValueError("attntag: threads must be 1 to %d, not %d" % (_MAX_THREADS, threads))
        path = os.path.abspath(os.fsdecode(model) if model is not None else default_model())
        if not os.path.exists(path):
            raise FileNotFoundError("attntag: %s: no such model file" % path)
        err = _lib._Error()
        p = ctypes.c_void_p()
        if _lib.lib.at_model_load(os.fsencode(path), 0, ctypes.byref(p), ctypes.byref(err)):
            _lib.raise_error(err)
        self._model = p
        try:
            self.model_path = path
            self.threads = threads
            self._config = json.loads(_lib.config_json(p))
            self.tagsets = list(self._config["tagsets"])
            self._tags = [[_lib.lib.at_model_tag(p, t, i).decode("utf-8")
                           for i in range(_lib.lib.at_model_n_tags(p, t))]
                          for t in range(len(self.tagsets))]
        except BaseException:
            self.close()
            raise

    def __reduce__(self):
        return (Tagger, (self.model_path, self.threads))

    # ---- life

    def close(self):
        """Free the model and the sessions; tagging afterwards raises
        ValueError. It does not wait: while another thread's call is tagging
        it raises RuntimeError and frees nothing."""
        with self._lock:
            if self._busy:
                raise RuntimeError("attntag: close() while %d calls are tagging" % self._busy)
            for s in self._pool:
                s.free()
            self._pool = []
            if self._model:
                _lib.lib.at_model_free(self._model)
                self._model = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.close()
        except RuntimeError:
            if exc_type is None:  # else the with block's own exception goes on
                raise
        return False

    def __del__(self):
        if getattr(self, "_model", None) and not getattr(self, "_busy", 0):
            self.close()

    def _enter(self):
        """Count a call in (close() refuses while one runs); the model."""
        with self._lock:
            if not self._model:
                raise ValueError("attntag: the Tagger is closed")
            self._busy += 1
            return self._model

    def _leave(self, s=None):
        with self._lock:
            self._busy -= 1
            if s is not None:
                self._pool.append(s)

    def _take(self):
        model = self._enter()
        with self._lock:
            if self._pool:
                return self._pool.pop()
        try:
            return _Session(model)
        except BaseException:
            self._leave()
            raise

    def _give(self, s):
        self._leave(s)

    # ---- what the model is

    def info(self):
        """The model: its file, tag sets (with their tags), vocabulary and
        lexicon sizes, parameters, configuration, the kernel path that runs
        it, and what it was trained on when the file's about-file
        (NAME.about.json beside NAME.safetensors) says so."""
        m = self._enter()
        try:
            return self._info(m)
        finally:
            self._leave()

    def _info(self, m):
        about = {}
        stem = os.path.splitext(self.model_path)[0]
        if os.path.exists(stem + ".about.json"):
            with open(stem + ".about.json", encoding="utf-8") as f:
                about = json.load(f)
        return {
            "model": self.model_path,
            "bytes": os.path.getsize(self.model_path),
            "tagsets": {ts: list(tags) for ts, tags in zip(self.tagsets, self._tags)},
            "vocabulary": _lib.lib.at_model_vocab_size(m),
            "lexicon": _lib.lib.at_model_lexicon_size(m),
            "parameters": _lib.lib.at_model_param_count(m),
            "checksum": "%08x" % _lib.lib.at_model_checksum(m),
            "config": dict(self._config),
            "kernels": _lib.lib.at_kernels_name().decode(),
            "trained_on": about.get("trained_on"),
            "licence": about.get("licence"),
        }

    # ---- tagging

    def tag(self, tokens, probs=False, top=0):
        """Tag one sentence given as a list of token strings: a list of
        Token, one per token. probs=True adds each chosen tag's probability;
        top=k the k most probable tags of each tag set."""
        return self.tag_sents([tokens], probs=probs, top=top)[0]

    def tag_sents(self, sentences, probs=False, top=0):
        """Tag many sentences (lists of token strings) in one call: a list of
        lists of Token. The library tags them in batches, so the cost per
        token does not depend on how many come at once."""
        sentences = [_check_sentence(s, k) for k, s in enumerate(sentences)]
        top = _whole(top, "top")
        if top < 0:
            raise ValueError("attntag: top must be 0 or more, not %d" % top)
        want_probs = bool(probs) or top > 0
        if self.threads == 1 or len(sentences) < 2:
            return self._tag_share(sentences, probs, top, want_probs)
        k = min(self.threads, len(sentences))
        cut = [len(sentences) * i // k for i in range(k + 1)]
        out = [None] * k
        errors = []

        def run(i):
            try:
                out[i] = self._tag_share(sentences[cut[i]:cut[i + 1]], probs, top, want_probs,
                                         cut[i])
            except BaseException as e:  # raised again on the calling thread
                errors.append((i, e))
        threads = [threading.Thread(target=run, args=(i,)) for i in range(1, k)]
        for t in threads:
            t.start()
        run(0)
        for t in threads:
            t.join()
        if errors:
            raise min(errors, key=lambda e: e[0])[1]
        return [s for share in out for s in share]

    def _tag_share(self, sentences, probs, top, want_probs, first=0):
        """Tag sentences on one session; first: the number of sentences
        before them in the call, for messages."""
        n_tok = sum(len(s) for s in sentences)
        if n_tok == 0:
            return [[] for _ in sentences]
        flat = [t for s in sentences for t in s]
        try:
            buf = ("\0".join(flat) + "\0").encode("utf-8")
        except UnicodeEncodeError:
            raise _bad_unicode(sentences, first) from None
        lens = array("I", [len(s) for s in sentences])
        T = len(self.tagsets)
        tags = array("I", bytes(4 * T * n_tok))
        n_tags = [len(t) for t in self._tags]
        pr = array("f", bytes(4 * n_tok * sum(n_tags))) if want_probs else None
        err = _lib._Error()
        s = self._take()
        try:
            rc = _lib.lib.at_session_tag(
                s.p, buf, len(buf), lens.buffer_info()[0], len(sentences),
                tags.buffer_info()[0], pr.buffer_info()[0] if pr is not None else None,
                ctypes.byref(err))
        finally:
            self._give(s)
        if rc:
            _lib.raise_error(err, "attntag: model %s%s" % (
                self.model_path, ": sentence %d" % (first + err.sentence) if err.sentence else ""))
        names = [[self._tags[t][i] for i in tags[t * n_tok:(t + 1) * n_tok]] for t in range(T)]
        prob_of = tops = None
        if want_probs:
            prob_of, tops = self._probabilities(pr, tags, n_tok, n_tags, probs, top)
        out, i = [], 0
        ts = self.tagsets
        for sent in sentences:
            row = []
            for tok in sent:
                row.append(Token(tok, {ts[t]: names[t][i] for t in range(T)},
                                 prob_of[i] if prob_of else None, tops[i] if tops else None))
                i += 1
            out.append(row)
        return out

    def _probabilities(self, pr, tags, n_tok, n_tags, probs, top):
        """Per token: {tag set: probability of its tag} and {tag set: the top
        (tag, probability) pairs, most probable first}."""
        T = len(self.tagsets)
        prob_of = [{} for _ in range(n_tok)] if probs else None
        tops = [{} for _ in range(n_tok)] if top else None
        off = 0
        for t in range(T):
            k, names, ts = n_tags[t], self._tags[t], self.tagsets[t]
            for i in range(n_tok):
                row = pr[off + i * k:off + (i + 1) * k]
                if probs:
                    prob_of[i][ts] = row[tags[t * n_tok + i]]
                if top:
                    best = sorted(range(k), key=lambda j: (-row[j], j))[:top]
                    tops[i][ts] = [(names[j], row[j]) for j in best]
            off += n_tok * k
        return prob_of, tops

    def tag_text(self, text, probs=False, top=0):
        """Tokenize running text and split it into sentences as the command's
        --tokenize does (a blank line ends a paragraph), then tag it: a list
        of sentences, each a list of Token with its start and end offsets in
        text (in characters: text[t.start:t.end] == t.text)."""
        if not isinstance(text, str):
            raise TypeError("attntag: tag_text takes a str, not %s" % type(text).__name__)
        if "\0" in text:
            raise ValueError("attntag: the text has a NUL character (at %d)" % text.index("\0"))
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError("attntag: the text is not valid Unicode (%s)" % e) from None
        err = _lib._Error()
        toks = ctypes.POINTER(_lib._Tokens)()
        s = self._take()
        try:
            if _lib.lib.at_session_tokenize(s.p, raw, len(raw), ctypes.byref(toks),
                                            ctypes.byref(err)):
                _lib.raise_error(err, "attntag")
            t = toks.contents
            spans = [(t.tok[i].start, t.tok[i].start + t.tok[i].len) for i in range(t.n)]
            ends = [t.sent_end[i] for i in range(t.n_sent)]
        finally:
            self._give(s)
        chars = _char_offsets(raw, text, spans)
        sentences, first = [], 0
        for e in ends:
            if e > first:
                sentences.append([text[chars[i][0]:chars[i][1]] for i in range(first, e)])
            first = e
        tagged = self.tag_sents(sentences, probs=probs, top=top)
        i = 0
        for sent in tagged:
            for tok in sent:
                tok.start, tok.end = chars[i]
                i += 1
        return tagged


def _whole(x, name):
    """x as a whole number (ints, and numpy's), else TypeError."""
    if isinstance(x, bool):
        raise TypeError("attntag: %s must be a whole number, not %r" % (name, x))
    try:
        return operator.index(x)
    except TypeError:
        raise TypeError("attntag: %s must be a whole number, not %r" % (name, x)) from None


def _bad_unicode(sentences, first):
    """The ValueError for the first token that UTF-8 cannot encode (a lone
    surrogate, as surrogateescape decoding leaves for invalid bytes)."""
    for k, s in enumerate(sentences):
        for i, tok in enumerate(s):
            try:
                tok.encode("utf-8")
            except UnicodeEncodeError as e:
                return ValueError("attntag: sentence %d, token %d is not valid Unicode text (%s)"
                                  % (first + k + 1, i + 1, e.reason))
    return ValueError("attntag: a token is not valid Unicode text")


def _check_sentence(s, k):
    if isinstance(s, (str, bytes)):
        raise TypeError("attntag: sentence %d is a %s, not a list of tokens (split it, or use "
                        "tag_text)" % (k + 1, type(s).__name__))
    s = list(s)
    for i, tok in enumerate(s):
        if not isinstance(tok, str):
            raise TypeError("attntag: sentence %d, token %d is a %s, not a str"
                            % (k + 1, i + 1, type(tok).__name__))
        if not tok:
            raise ValueError("attntag: sentence %d, token %d is empty" % (k + 1, i + 1))
        if "\0" in tok:
            raise ValueError("attntag: sentence %d, token %d has a NUL character"
                             % (k + 1, i + 1))
    return s


def _char_offsets(raw, text, spans):
    """Byte spans of raw (text in UTF-8) as character spans of text."""
    if len(raw) == len(text):  # ASCII: bytes are characters
        return spans
    out, byte, char = [], 0, 0
    for a, b in spans:
        char += len(raw[byte:a].decode("utf-8"))
        start = char
        char += len(raw[a:b].decode("utf-8"))
        out.append((start, char))
        byte = b
    return out
