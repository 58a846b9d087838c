"""attntag's token features, re-implemented in plain Python from
docs/model-format.md (no attntag code): the lookup key, 32-bit FNV-1a,
hashed character n-gram buckets and the ten word shapes.  Shared by
tests/fixtures/torch_reference.py and bench/torch_tagger.py (through
torch_network.py and directly).
"""
import unicodedata

N_SHAPES = 10


def norm_key(tok, lowercase):
    """NFKC + case folding (as utf8proc_NFKC_Casefold) or NFC."""
    if lowercase:
        return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", tok).casefold())
    return unicodedata.normalize("NFC", tok)


def fnv1a32(data):
    """32-bit FNV-1a; fnv1a32(b"a") == 0xe40c292c (the published test vector)."""
    h = 2166136261
    for b in data:
        h ^= b
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def ngram_buckets(key, nmin, nmax, buckets):
    """Bucket ids of every n-gram of "<"+key+">", n from nmin to nmax (outer),
    start position ascending (inner); counted in code points."""
    s = "<" + key + ">"
    out = []
    for n in range(nmin, nmax + 1):
        for i in range(0, len(s) - n + 1):
            out.append(fnv1a32(s[i:i + n].encode("utf-8")) % buckets)
    return out


def word_shape(tok):
    U = L = O = D = P = 0
    first_letter_upper = None
    for ch in tok:
        cat = unicodedata.category(ch)
        if cat in ("Lu", "Lt"):
            U += 1
        elif cat == "Ll":
            L += 1
        elif cat in ("Lm", "Lo"):
            O += 1
        elif cat[0] == "N":
            D += 1
        elif cat[0] in ("P", "S"):
            P += 1
        if cat[0] == "L" and first_letter_upper is None:
            first_letter_upper = cat in ("Lu", "Lt")
    n = len(tok)
    letters = U + L + O
    if D == n:
        return 5  # DIGITS
    if D > 0 and letters == 0:
        return 6  # NUMBER
    if D > 0:
        return 7  # ALNUM
    if letters == 0 and P > 0:
        return 8  # PUNCT
    if letters == 0:
        return 0  # OTHER
    if U == 0 and L == 0:
        return 9  # UNCASED
    if U == 0:
        return 1  # LOWER
    if U >= 2 and L == 0:
        return 3  # ALLCAPS
    if U == 1 and first_letter_upper:
        return 2  # CAPITALIZED
    return 4  # MIXED
