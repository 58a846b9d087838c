"""The C library, libattntag, through ctypes: finding it, the signatures of
the functions the package calls, and its errors as Python exceptions."""
import ctypes
import ctypes.util
import glob
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
# a source checkout: python/attntag/ beside build/pic/
_SOURCE_TREE = os.path.normpath(os.path.join(_HERE, "..", ".."))


class _Error(ctypes.Structure):
    _fields_ = [("msg", ctypes.c_char * 1024), ("sentence", ctypes.c_size_t),
                ("kind", ctypes.c_int)]


class _Span(ctypes.Structure):
    _fields_ = [("start", ctypes.c_size_t), ("len", ctypes.c_size_t)]


class _Tokens(ctypes.Structure):
    _fields_ = [("n", ctypes.c_size_t), ("cap", ctypes.c_size_t),
                ("tok", ctypes.POINTER(_Span)),
                ("n_sent", ctypes.c_size_t), ("sent_cap", ctypes.c_size_t),
                ("sent_end", ctypes.POINTER(ctypes.c_size_t))]


# at_error_kind
ERR_INPUT, ERR_USAGE, ERR_MODEL, ERR_OUTPUT, ERR_MEMORY = range(5)


def candidates():
    """Where the library is looked for, in order: $ATTNTAG_LIB; next to this
    package (an installed wheel); a source checkout's build/pic/; where
    `make install` puts it."""
    env = os.environ.get("ATTNTAG_LIB")
    if env:
        return [env]
    found = sorted(glob.glob(os.path.join(_HERE, "libattntag.so*")))
    found += sorted(glob.glob(os.path.join(_SOURCE_TREE, "build", "pic", "libattntag.so.*")))
    system = ctypes.util.find_library("attntag")
    if system:
        found.append(system)
    found += ["/usr/local/lib/libattntag.so.0", "/usr/lib/libattntag.so.0"]
    return found


def _load():
    tried = []
    for path in candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise OSError("attntag: libattntag not found; tried: %s. Build it with `make` in the "
                  "attntag source tree, or set ATTNTAG_LIB to its path" % "; ".join(tried))


lib, path = _load()

_P = ctypes.c_void_p
_ERR = ctypes.POINTER(_Error)


def _sig(name, restype, *argtypes):
    try:
        f = getattr(lib, name)
    except AttributeError:
        raise OSError("attntag: %s has no %s: it is an older libattntag than this package "
                      "(rebuild it: make shared)" % (path, name)) from None
    f.restype = restype
    f.argtypes = list(argtypes)


_sig("at_model_load", ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(_P), _ERR)
_sig("at_model_free", None, _P)
_sig("at_model_config", _P, _P)
_sig("at_config_to_json", _P, _P)
_sig("at_model_n_tags", ctypes.c_size_t, _P, ctypes.c_int)
_sig("at_model_tag", ctypes.c_char_p, _P, ctypes.c_int, ctypes.c_size_t)
_sig("at_model_vocab_size", ctypes.c_size_t, _P)
_sig("at_model_lexicon_size", ctypes.c_size_t, _P)
_sig("at_model_param_count", ctypes.c_size_t, _P)
_sig("at_model_checksum", ctypes.c_uint32, _P)
_sig("at_kernels_name", ctypes.c_char_p)
_sig("at_session_new", ctypes.c_int, _P, ctypes.POINTER(_P), _ERR)
_sig("at_session_free", None, _P)
_sig("at_session_tag", ctypes.c_int, _P, ctypes.c_char_p, ctypes.c_size_t, _P, ctypes.c_size_t,
     _P, _P, _ERR)
_sig("at_session_tokenize", ctypes.c_int, _P, ctypes.c_char_p, ctypes.c_size_t,
     ctypes.POINTER(ctypes.POINTER(_Tokens)), _ERR)
_libc = ctypes.CDLL(None)
_libc.free.argtypes = [_P]
_libc.free.restype = None


def raise_error(err, what=None):
    """The library's error as an exception: bad input is a ValueError, a
    model or file that cannot be read an OSError, memory a MemoryError."""
    msg = err.msg.decode("utf-8", "replace")
    if what:
        msg = "%s: %s" % (what, msg)
    if err.kind == ERR_MEMORY:
        raise MemoryError(msg)
    if err.kind in (ERR_MODEL, ERR_OUTPUT):
        raise OSError(msg)
    raise ValueError(msg)


def config_json(model):
    """The model's configuration as the JSON text of its file."""
    p = lib.at_config_to_json(lib.at_model_config(model))
    if not p:
        raise MemoryError("attntag: out of memory")
    try:
        return ctypes.string_at(p).decode("utf-8")
    finally:
        _libc.free(p)
