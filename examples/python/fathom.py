"""fathom from Python through ctypes: a thin binding of the C ABI (capi/fathom.h) and a Pythonic
wrapper.

    import fathom
    with fathom.Model("stories260K.gguf") as model:
        for text in model.generate("Once upon a time", max_tokens=64, temperature=0):
            print(text, end="", flush=True)

The shared library is found through $FATHOM_LIBRARY (a path), else the system's search path
(libfathom.so.0). Errors raise fathom.Error with the status code and fathom_last_error().
"""

import ctypes
import ctypes.util
import os

__all__ = ["Error", "Model", "Session", "abi_version", "version", "set_log_callback",
           "set_log_level", "LOG_DEBUG", "LOG_INFO", "LOG_WARN", "LOG_ERROR", "LOG_NONE"]

ABI_VERSION = 0  # the FATHOM_ABI_VERSION this module was written for
STATUS_OK = 0
LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_NONE = range(5)


def _load_library():
    path = os.environ.get("FATHOM_LIBRARY")
    if not path:
        path = ctypes.util.find_library("fathom") or "libfathom.so.%d" % ABI_VERSION
    return ctypes.CDLL(path)


_lib = _load_library()
_c = ctypes
_p = _c.c_void_p

PROGRESS_CALLBACK = _c.CFUNCTYPE(_c.c_int32, _p, _c.c_float)
TOKEN_CALLBACK = _c.CFUNCTYPE(_c.c_int32, _p, _c.c_int32, _c.POINTER(_c.c_char), _c.c_size_t)
LOG_CALLBACK = _c.CFUNCTYPE(None, _p, _c.c_int32, _c.c_char_p)


class ModelParams(_c.Structure):
    _fields_ = [("struct_size", _c.c_size_t), ("progress", PROGRESS_CALLBACK),
                ("progress_user_data", _p)]


class SessionParams(_c.Structure):
    _fields_ = [("struct_size", _c.c_size_t), ("n_ctx", _c.c_int32), ("n_threads", _c.c_int32),
                ("n_batch", _c.c_int32), ("mtp", _c.c_uint8), ("reserved", _c.c_uint8 * 3)]


class SamplerParams(_c.Structure):
    _fields_ = [("struct_size", _c.c_size_t), ("seed", _c.c_uint64), ("temperature", _c.c_float),
                ("top_k", _c.c_int32), ("top_p", _c.c_float), ("reserved", _c.c_uint32)]


def _declare(name, restype, *argtypes):
    function = getattr(_lib, name)
    function.restype = restype
    function.argtypes = list(argtypes)
    return function


_i32, _i64, _u8, _u64, _size = _c.c_int32, _c.c_int64, _c.c_uint8, _c.c_uint64, _c.c_size_t
_abi_version = _declare("fathom_abi_version", _i32)
_version_string = _declare("fathom_version_string", _c.c_char_p)
_last_error = _declare("fathom_last_error", _c.c_char_p)
_status_string = _declare("fathom_status_string", _c.c_char_p, _i32)
_free = _declare("fathom_free", None, _p)
_model_default_params = _declare("fathom_model_default_params", _i32, _c.POINTER(ModelParams))
_model_load = _declare("fathom_model_load", _i32, _c.c_char_p, _c.POINTER(ModelParams),
                       _c.POINTER(_p))
_model_free = _declare("fathom_model_free", None, _p)
_model_architecture = _declare("fathom_model_architecture", _c.c_char_p, _p)
_model_name = _declare("fathom_model_name", _c.c_char_p, _p)
_model_chat_template = _declare("fathom_model_chat_template", _c.c_char_p, _p)
_model_ints = {name: _declare("fathom_model_" + name, restype, _p) for name, restype in [
    ("n_params", _i64), ("n_vocab", _i32), ("n_ctx_train", _i32), ("n_embd", _i32),
    ("n_layer", _i32), ("n_head", _i32), ("n_head_kv", _i32), ("kv_bytes_per_token", _i64),
    ("token_bos", _i32), ("token_eos", _i32)]}
_model_token_is_eog = _declare("fathom_model_token_is_eog", _u8, _p, _i32)
_tokenize = _declare("fathom_tokenize", _i32, _p, _c.c_char_p, _size, _u8, _u8,
                     _c.POINTER(_i32), _size, _c.POINTER(_size))
_detokenize = _declare("fathom_detokenize", _i32, _p, _c.POINTER(_i32), _size,
                       _c.POINTER(_c.POINTER(_c.c_char)), _c.POINTER(_size))
_detokenizer_create = _declare("fathom_detokenizer_create", _i32, _p, _c.POINTER(_p))
_detokenizer_free = _declare("fathom_detokenizer_free", None, _p)
_detokenizer_push = _declare("fathom_detokenizer_push", _i32, _p, _i32,
                             _c.POINTER(_c.POINTER(_c.c_char)), _c.POINTER(_size))
_detokenizer_flush = _declare("fathom_detokenizer_flush", _i32, _p,
                              _c.POINTER(_c.POINTER(_c.c_char)), _c.POINTER(_size))
_session_default_params = _declare("fathom_session_default_params", _i32,
                                   _c.POINTER(SessionParams))
_session_create = _declare("fathom_session_create", _i32, _p, _c.POINTER(SessionParams),
                           _c.POINTER(_p))
_session_free = _declare("fathom_session_free", None, _p)
_session_reset = _declare("fathom_session_reset", _i32, _p)
_session_position = _declare("fathom_session_position", _i32, _p)
_session_n_ctx = _declare("fathom_session_n_ctx", _i32, _p)
_session_evaluate = _declare("fathom_session_evaluate", _i32, _p, _c.POINTER(_i32), _size, _u8)
_session_logits = _declare("fathom_session_logits", _i32, _p, _i32,
                           _c.POINTER(_c.POINTER(_c.c_float)), _c.POINTER(_i32))
_session_cancel = _declare("fathom_session_cancel", _i32, _p)
_sampler_default_params = _declare("fathom_sampler_default_params", _i32,
                                   _c.POINTER(SamplerParams))
_sampler_create = _declare("fathom_sampler_create", _i32, _c.POINTER(SamplerParams),
                           _c.POINTER(_p))
_sampler_free = _declare("fathom_sampler_free", None, _p)
_sampler_sample = _declare("fathom_sampler_sample", _i32, _p, _c.POINTER(_c.c_float), _i32,
                           _c.POINTER(_i32))
_set_log_callback = _declare("fathom_set_log_callback", None, LOG_CALLBACK, _p)
_set_log_level = _declare("fathom_set_log_level", _i32, _i32)


class Error(RuntimeError):
    """A failed fathom call: .code is the FATHOM_STATUS_* value, the message fathom_last_error()."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (_status_string(code).decode(), message))
        self.code = code


def _check(status):
    if status != STATUS_OK:
        raise Error(status, _last_error().decode("utf-8", "replace"))


def abi_version():
    return _abi_version()


def version():
    return _version_string().decode()


_log_callback = None  # keeps the ctypes thunk alive while the library may call it


def set_log_callback(callback):
    """callback(level, message) receives the library's diagnostics; None restores stderr."""
    global _log_callback
    thunk = None
    if callback is not None:
        thunk = LOG_CALLBACK(lambda _, level, message: callback(level, message.decode("utf-8",
                                                                                     "replace")))
    _set_log_callback(thunk if thunk is not None else LOG_CALLBACK(), None)
    _log_callback = thunk


def set_log_level(level):
    _check(_set_log_level(level))


class Model:
    """A loaded GGUF model (immutable; usable from any thread)."""

    def __init__(self, path):
        if _abi_version() != ABI_VERSION:
            raise Error(12, "libfathom has ABI %d, fathom.py expects %d" % (_abi_version(),
                                                                           ABI_VERSION))
        handle = _p()
        _check(_model_load(os.fsencode(path), None, _c.byref(handle)))
        self._handle = handle

    def close(self):
        if getattr(self, "_handle", None):
            _model_free(self._handle)
            self._handle = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def architecture(self):
        return _model_architecture(self._handle).decode()

    @property
    def name(self):
        return _model_name(self._handle).decode("utf-8", "replace")

    @property
    def chat_template(self):
        """The model's chat template (Jinja text); "" when it has none."""
        return _model_chat_template(self._handle).decode("utf-8", "replace")

    def chat(self, messages, **generate_options):
        """Yields the assistant's reply to `messages` ([{"role": ..., "content": ...}]), rendered
        with the model's chat template (needs the jinja2 package, and a model with a template)."""
        template = self.chat_template
        if not template:
            raise Error(9, "the model has no chat template")
        import jinja2  # only chat needs it
        environment = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
        environment.globals["raise_exception"] = lambda message: (_ for _ in ()).throw(
            Error(3, message))
        # The template writes the special tokens (BOS, role markers) itself.
        prompt = environment.from_string(template).render(
            messages=messages, add_generation_prompt=True, bos_token="", eos_token="")
        with self.session() as session:
            yield from session.generate(self.tokenize(prompt, add_bos=True, parse_special=True),
                                        **generate_options)

    def __getattr__(self, name):  # n_vocab, n_ctx_train, kv_bytes_per_token, token_eos, ...
        if name in _model_ints:
            return _model_ints[name](self.__dict__["_handle"])
        raise AttributeError(name)

    def is_eog(self, token):
        return _model_token_is_eog(self._handle, token) != 0

    def tokenize(self, text, add_bos=True, parse_special=False):
        data = text.encode("utf-8")
        n = _size()
        _check(_tokenize(self._handle, data, len(data), add_bos, parse_special, None, 0,
                         _c.byref(n)))
        tokens = (_i32 * max(n.value, 1))()
        _check(_tokenize(self._handle, data, len(data), add_bos, parse_special, tokens, n.value,
                         _c.byref(n)))
        return list(tokens[:n.value])

    def detokenize(self, tokens):
        array = (_i32 * max(len(tokens), 1))(*tokens)
        text = _c.POINTER(_c.c_char)()
        n = _size()
        _check(_detokenize(self._handle, array, len(tokens), _c.byref(text), _c.byref(n)))
        try:
            return _c.string_at(text, n.value).decode("utf-8", "replace")
        finally:
            _free(text)

    def session(self, n_ctx=0, n_threads=0):
        return Session(self, n_ctx=n_ctx, n_threads=n_threads)

    def generate(self, prompt, max_tokens=128, temperature=0.8, top_k=40, top_p=0.95,
                 seed=None, stop_at_eog=True):
        """Yields the continuation of `prompt` (text, with BOS) piece by piece, in a new session."""
        with self.session() as session:
            yield from session.generate(self.tokenize(prompt), max_tokens=max_tokens,
                                        temperature=temperature, top_k=top_k, top_p=top_p,
                                        seed=seed, stop_at_eog=stop_at_eog)


class Session:
    """One conversation over a model: its KV cache. One thread at a time."""

    def __init__(self, model, n_ctx=0, n_threads=0):
        params = SessionParams()
        _check(_session_default_params(_c.byref(params)))
        params.n_ctx, params.n_threads = n_ctx, n_threads
        handle = _p()
        _check(_session_create(model._handle, _c.byref(params), _c.byref(handle)))
        self._handle = handle
        self.model = model  # the C session keeps the model alive too; this keeps the wrapper

    def close(self):
        if getattr(self, "_handle", None):
            _session_free(self._handle)
            self._handle = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def position(self):
        return _session_position(self._handle)

    @property
    def n_ctx(self):
        return _session_n_ctx(self._handle)

    def reset(self):
        _check(_session_reset(self._handle))

    def cancel(self):
        _check(_session_cancel(self._handle))

    def evaluate(self, tokens):
        array = (_i32 * max(len(tokens), 1))(*tokens)
        _check(_session_evaluate(self._handle, array, len(tokens), 0))

    def generate(self, tokens, max_tokens=128, temperature=0.8, top_k=40, top_p=0.95, seed=None,
                 stop_at_eog=True):
        """Evaluates `tokens` at the current position, then yields generated text piece by piece
        (valid UTF-8). It runs token by token over evaluate/logits/sampler/detokenizer, so it
        picks the tokens fathom_session_generate picks when greedy (temperature <= 0), and when
        sampling in a session that has not generated before (with the same seed)."""
        params = SamplerParams()
        _check(_sampler_default_params(_c.byref(params)))
        params.temperature, params.top_k, params.top_p = temperature, top_k, top_p
        if seed is not None:
            params.seed = seed
        sampler, detokenizer = _p(), _p()
        _check(_sampler_create(_c.byref(params), _c.byref(sampler)))
        try:
            _check(_detokenizer_create(self.model._handle, _c.byref(detokenizer)))
            piece, n = _c.POINTER(_c.c_char)(), _size()
            logits, n_vocab, token = _c.POINTER(_c.c_float)(), _i32(), _i32()
            if tokens:
                self.evaluate(tokens)
            for i in range(max_tokens):
                _check(_session_logits(self._handle, -1, _c.byref(logits), _c.byref(n_vocab)))
                _check(_sampler_sample(sampler, logits, n_vocab, _c.byref(token)))
                if stop_at_eog and self.model.is_eog(token.value):
                    break
                _check(_detokenizer_push(detokenizer, token.value, _c.byref(piece), _c.byref(n)))
                if n.value:
                    yield _c.string_at(piece, n.value).decode("utf-8")
                if i + 1 == max_tokens or self.position >= self.n_ctx:
                    break
                self.evaluate([token.value])
            _check(_detokenizer_flush(detokenizer, _c.byref(piece), _c.byref(n)))
            if n.value:
                yield _c.string_at(piece, n.value).decode("utf-8", "replace")
        finally:
            _detokenizer_free(detokenizer)
            _sampler_free(sampler)
