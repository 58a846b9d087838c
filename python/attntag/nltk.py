"""attntag as an NLTK tagger.

    >>> from attntag.nltk import AttntagTagger
    >>> tagger = AttntagTagger()              # Penn tags, as nltk.pos_tag gives
    >>> tagger.tag(["I", "saw", "her", "duck", "."])
    [('I', 'PRP'), ('saw', 'VBD'), ('her', 'PRP$'), ('duck', 'NN'), ('.', '.')]

Code written for any NLTK tagger (tag, tag_sents, accuracy/evaluate on
tagged sentences) takes it in place of the other.
"""
from nltk.tag.api import TaggerI

from . import Tagger


class AttntagTagger(TaggerI):
    """An nltk.tag.api.TaggerI over an attntag model.

    tagset: the model's tag set whose tags are given: "xpos" (Penn Treebank
    tags, what nltk.pos_tag returns; the default) or "upos" (Universal
    Dependencies tags), or any other the model has. model, threads: as for
    attntag.Tagger."""

    def __init__(self, tagset="xpos", model=None, threads=None):
        self._tagger = Tagger(model=model, threads=threads)
        if tagset not in self._tagger.tagsets:
            have = ", ".join(self._tagger.tagsets)
            self._tagger.close()
            raise ValueError("attntag: the model has no tag set %r (it has: %s)" % (tagset, have))
        self.tagset = tagset

    def __reduce__(self):
        return (AttntagTagger, (self.tagset, self._tagger.model_path, self._tagger.threads))

    def tag(self, tokens):
        """[(token, tag)] for one sentence (a list of token strings)."""
        return self.tag_sents([tokens])[0]

    def tag_sents(self, sentences):
        """[[(token, tag)]] for many sentences, tagged in one call."""
        ts = self.tagset
        return [[(t.text, t.tags[ts]) for t in s]
                for s in self._tagger.tag_sents(sentences)]

    def close(self):
        """Free the model."""
        self._tagger.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
