"""fathom from Python through ctypes: a thin binding of the C ABI (capi/fathom.h) and a Pythonic
wrapper.

    import fathom
    with fathom.Model("stories260K.gguf") as model:
        for text in model.generate("Once upon a time", max_tokens=64, temperature=0):
            print(text, end="", flush=True)
        for piece in model.chat([{"role": "user", "content": "Hi"}]):  # the model's template
            print(piece, end="")  # piece.reasoning: True for <think> text of reasoning models

Generation runs fathom_session_generate on a worker thread and hands its pieces over as they come,
so every option of the C ABI (sampler chain, stop strings, reasoning) applies; leaving the loop
early stops the generation.

The shared library is found through $FATHOM_LIBRARY (a path), else the system's search path
(libfathom.so.0). Errors raise fathom.Error with the status code and fathom_last_error().
"""

import ctypes
import ctypes.util
import json
import os
import queue
import threading

__all__ = ["Error", "Model", "Session", "Piece", "abi_version", "version", "set_log_callback",
           "set_log_level", "LOG_DEBUG", "LOG_INFO", "LOG_WARN", "LOG_ERROR", "LOG_NONE"]

ABI_VERSION = 0  # the FATHOM_ABI_VERSION this module was written for
STATUS_OK = 0
LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_NONE = range(5)
STOP_MAX_TOKENS, STOP_EOG, STOP_CALLBACK, STOP_CANCELLED, STOP_CONTEXT_FULL, STOP_STRING = range(6)
REASONING_NONE, REASONING_SPLIT, REASONING_SPLIT_START_INSIDE = range(3)
SAMPLER_STAGES = {"penalties": 0, "top_k": 1, "typical_p": 2, "top_p": 3, "min_p": 4,
                  "temperature": 5}


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
                ("n_batch", _c.c_int32), ("mtp", _c.c_uint8), ("reserved", _c.c_uint8 * 3),
                ("context_overflow", _c.c_int32), ("n_keep", _c.c_int32)]


class LogitBias(_c.Structure):
    _fields_ = [("token", _c.c_int32), ("bias", _c.c_float)]


# The sampler chain's fields after the first four, shared by both parameter structs.
_CHAIN_FIELDS = [("min_p", _c.c_float), ("typical_p", _c.c_float),
                 ("penalty_last_n", _c.c_int32), ("repeat_penalty", _c.c_float),
                 ("frequency_penalty", _c.c_float), ("presence_penalty", _c.c_float),
                 ("logit_bias", _c.POINTER(LogitBias)), ("n_logit_bias", _c.c_size_t)]


class SamplerParams(_c.Structure):
    _fields_ = [("struct_size", _c.c_size_t), ("seed", _c.c_uint64), ("temperature", _c.c_float),
                ("top_k", _c.c_int32), ("top_p", _c.c_float), ("reserved", _c.c_uint32)
                ] + _CHAIN_FIELDS + [("order", _c.POINTER(_c.c_int32)), ("n_order", _c.c_size_t)]


class GenerateParams(_c.Structure):
    _fields_ = [("struct_size", _c.c_size_t), ("seed", _c.c_uint64),
                ("on_token", TOKEN_CALLBACK), ("user_data", _c.c_void_p),
                ("temperature", _c.c_float), ("top_k", _c.c_int32), ("top_p", _c.c_float),
                ("max_tokens", _c.c_int32), ("stop_at_eog", _c.c_uint8),
                ("reserved", _c.c_uint8 * 7)] + _CHAIN_FIELDS + [
                ("sampler_order", _c.POINTER(_c.c_int32)), ("n_sampler_order", _c.c_size_t),
                ("stop", _c.POINTER(_c.c_char_p)), ("n_stop", _c.c_size_t),
                ("on_reasoning", TOKEN_CALLBACK), ("reasoning_open_tag", _c.c_char_p),
                ("reasoning_close_tag", _c.c_char_p), ("reasoning", _c.c_uint8),
                ("evaluate_last", _c.c_uint8), ("reserved2", _c.c_uint8 * 6),
                ("speculative", _c.c_int32), ("n_draft", _c.c_int32)]


class ChatTemplateParams(_c.Structure):
    _fields_ = [("struct_size", _c.c_size_t), ("variables_json", _c.c_char_p),
                ("messages_json", _c.c_char_p), ("bos_token", _c.c_char_p),
                ("eos_token", _c.c_char_p), ("add_generation_prompt", _c.c_uint8),
                ("reserved", _c.c_uint8 * 7)]


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
_model_params_init = _declare("fathom_model_params_init", _i32, _c.POINTER(ModelParams),
                              _size)
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
_detokenize_ex = _declare("fathom_detokenize_ex", _i32, _p, _c.POINTER(_i32), _size, _u8,
                          _c.POINTER(_c.POINTER(_c.c_char)), _c.POINTER(_size))
_detokenizer_create = _declare("fathom_detokenizer_create", _i32, _p, _c.POINTER(_p))
_detokenizer_free = _declare("fathom_detokenizer_free", None, _p)
_detokenizer_push = _declare("fathom_detokenizer_push", _i32, _p, _i32,
                             _c.POINTER(_c.POINTER(_c.c_char)), _c.POINTER(_size))
_detokenizer_flush = _declare("fathom_detokenizer_flush", _i32, _p,
                              _c.POINTER(_c.POINTER(_c.c_char)), _c.POINTER(_size))
_session_params_init = _declare("fathom_session_params_init", _i32, _c.POINTER(SessionParams),
                                _size)
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
_session_evaluate_reusing_prefix = _declare("fathom_session_evaluate_reusing_prefix", _i32, _p,
                                            _c.POINTER(_i32), _size)
_session_tokens = _declare("fathom_session_tokens", _i32, _p, _c.POINTER(_i32), _size,
                           _c.POINTER(_size))
_session_int64 = {name: _declare("fathom_session_" + name, _i64, _p) for name in [
    "n_evaluated", "n_shifted", "kv_cache_bytes", "memory_bytes"]}
_generate_params_init = _declare("fathom_generate_params_init", _i32, _c.POINTER(GenerateParams),
                                 _size)
_session_generate = _declare("fathom_session_generate", _i32, _p, _c.POINTER(_i32), _size,
                             _c.POINTER(GenerateParams), _c.POINTER(_i32), _size,
                             _c.POINTER(_size), _c.POINTER(_i32))
_session_save_state = _declare("fathom_session_save_state", _i32, _p, _p, _size,
                               _c.POINTER(_size))
_session_load_state = _declare("fathom_session_load_state", _i32, _p, _c.c_char_p, _size)
_session_save_state_file = _declare("fathom_session_save_state_file", _i32, _p, _c.c_char_p)
_session_load_state_file = _declare("fathom_session_load_state_file", _i32, _p, _c.c_char_p)
_chat_template_params_init = _declare("fathom_chat_template_params_init", _i32,
                                      _c.POINTER(ChatTemplateParams), _size)
_chat_apply_template_ex = _declare("fathom_chat_apply_template_ex", _i32, _p, _p, _size,
                                   _c.POINTER(ChatTemplateParams), _c.c_char_p, _size,
                                   _c.POINTER(_size))
_sampler_params_init = _declare("fathom_sampler_params_init", _i32, _c.POINTER(SamplerParams),
                                _size)
_sampler_create = _declare("fathom_sampler_create", _i32, _c.POINTER(SamplerParams),
                           _c.POINTER(_p))
_sampler_free = _declare("fathom_sampler_free", None, _p)
_sampler_sample = _declare("fathom_sampler_sample", _i32, _p, _c.POINTER(_c.c_float), _i32,
                           _c.POINTER(_i32))
_sampler_accept = _declare("fathom_sampler_accept", _i32, _p, _i32)


class ChatMessage(_c.Structure):
    _fields_ = [("role", _c.c_char_p), ("content", _c.c_char_p)]
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


class _Owned:
    """A C handle freed by close(), at garbage collection or at the end of a with-block."""

    _free = None  # the fathom_*_free function of the subclass's handle

    def close(self):
        if getattr(self, "_handle", None):
            type(self)._free(self._handle)
            self._handle = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Model(_Owned):
    """A loaded GGUF model (immutable; usable from any thread)."""

    _free = staticmethod(_model_free)

    def __init__(self, path):
        if _abi_version() != ABI_VERSION:
            raise Error(12, "libfathom has ABI %d, fathom.py expects %d" % (_abi_version(),
                                                                           ABI_VERSION))
        handle = _p()
        _check(_model_load(os.fsencode(path), None, _c.byref(handle)))
        self._handle = handle

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

    def apply_chat_template(self, messages, add_generation_prompt=True, variables=None,
                            bos_token=None, eos_token=None):
        """The prompt text for `messages` ([{"role": ..., "content": ...}]), rendered with the
        model's chat template (fathom_chat_apply_template_ex; Error FAILED_PRECONDITION without
        one). `variables`: extra template variables such as {"enable_thinking": False} or
        {"tools": [...]}; bos_token/eos_token: what the template sees instead of the
        tokenizer's."""
        encoded = [(m["role"].encode("utf-8"), m["content"].encode("utf-8")) for m in messages]
        array = (ChatMessage * max(len(encoded), 1))(*[ChatMessage(r, c) for r, c in encoded])
        params = ChatTemplateParams()
        _check(_chat_template_params_init(_c.byref(params), _c.sizeof(params)))
        params.add_generation_prompt = 1 if add_generation_prompt else 0
        if variables:
            params.variables_json = json.dumps(variables).encode("utf-8")
        if bos_token is not None:
            params.bos_token = bos_token.encode("utf-8")
        if eos_token is not None:
            params.eos_token = eos_token.encode("utf-8")
        n = _size()
        _check(_chat_apply_template_ex(self._handle, _c.cast(array, _p), len(encoded),
                                       _c.byref(params), None, 0, _c.byref(n)))
        buf = _c.create_string_buffer(n.value + 1)
        _check(_chat_apply_template_ex(self._handle, _c.cast(array, _p), len(encoded),
                                       _c.byref(params), buf, n.value + 1, _c.byref(n)))
        return buf.raw[:n.value].decode("utf-8")

    def chat(self, messages, reasoning=REASONING_SPLIT, variables=None, **generate_options):
        """Yields the assistant's reply to `messages` piece by piece (Piece: a str whose
        .reasoning tells thoughts between <think> and </think> from the answer), in a new
        session. The prompt comes from the model's chat template, which writes the special
        tokens (BOS, role markers) itself; `variables` as apply_chat_template's."""
        prompt = self.apply_chat_template(messages, add_generation_prompt=True,
                                          variables=variables)
        with self.session() as session:
            yield from session.generate(self.tokenize(prompt, add_bos=False, parse_special=True),
                                        reasoning=reasoning, **generate_options)

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

    def detokenize(self, tokens, skip_special=None):
        """The concatenated pieces of `tokens` (fathom_detokenize); with skip_special given, the
        text as the tokenizer's own library decodes it, without special tokens when True
        (fathom_detokenize_ex)."""
        array = (_i32 * max(len(tokens), 1))(*tokens)
        text = _c.POINTER(_c.c_char)()
        n = _size()
        if skip_special is None:
            _check(_detokenize(self._handle, array, len(tokens), _c.byref(text), _c.byref(n)))
        else:
            _check(_detokenize_ex(self._handle, array, len(tokens), 1 if skip_special else 0,
                                  _c.byref(text), _c.byref(n)))
        try:
            return _c.string_at(text, n.value).decode("utf-8", "replace")
        finally:
            _free(text)

    def session(self, **options):
        """A new Session; options as Session()."""
        return Session(self, **options)

    def generate(self, prompt, **options):
        """Yields the continuation of `prompt` (text, with BOS) piece by piece, in a new session;
        options as Session.generate."""
        with self.session() as session:
            yield from session.generate(self.tokenize(prompt), **options)


class Piece(str):
    """Generated text; .reasoning is True for a reasoning model's thoughts (with reasoning
    separation on), .token the token that completed it (-1: text held back until the end)."""

    def __new__(cls, text, reasoning=False, token=-1):
        piece = super().__new__(cls, text)
        piece.reasoning = reasoning
        piece.token = token
        return piece


_DONE = object()


class Session(_Owned):
    """One conversation over a model: its KV cache. One thread at a time."""

    _free = staticmethod(_session_free)

    def __init__(self, model, n_ctx=0, n_threads=0, context_shift=False, n_keep=0):
        """context_shift: when the context is full, drop the oldest tokens after the first
        n_keep and go on (FATHOM_CONTEXT_OVERFLOW_SHIFT) instead of stopping."""
        params = SessionParams()
        _check(_session_params_init(_c.byref(params), _c.sizeof(params)))
        params.n_ctx, params.n_threads = n_ctx, n_threads
        params.context_overflow, params.n_keep = (1 if context_shift else 0), n_keep
        handle = _p()
        _check(_session_create(model._handle, _c.byref(params), _c.byref(handle)))
        self._handle = handle
        self.model = model  # the C session keeps the model alive too; this keeps the wrapper

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

    def evaluate(self, tokens, reuse_prefix=False):
        """Appends `tokens`; with reuse_prefix, makes the session hold exactly `tokens` and runs
        only what differs from the cached ones (see n_evaluated)."""
        array = (_i32 * max(len(tokens), 1))(*tokens)
        if reuse_prefix:
            _check(_session_evaluate_reusing_prefix(self._handle, array, len(tokens)))
        else:
            _check(_session_evaluate(self._handle, array, len(tokens), 0))

    @property
    def tokens(self):
        n = _size()
        _check(_session_tokens(self._handle, None, 0, _c.byref(n)))
        array = (_i32 * max(n.value, 1))()
        _check(_session_tokens(self._handle, array, n.value, _c.byref(n)))
        return list(array[:n.value])

    def __getattr__(self, name):  # n_evaluated, n_shifted, kv_cache_bytes, memory_bytes
        if name in _session_int64:
            return _session_int64[name](self.__dict__["_handle"])
        raise AttributeError(name)

    def save_state(self):
        """The session's state (tokens, KV cache, logits, RNG) as bytes."""
        n = _size()
        _check(_session_save_state(self._handle, None, 0, _c.byref(n)))
        buf = _c.create_string_buffer(max(n.value, 1))
        _check(_session_save_state(self._handle, buf, n.value, _c.byref(n)))
        return buf.raw[:n.value]

    def load_state(self, image):
        _check(_session_load_state(self._handle, image, len(image)))

    def save_state_file(self, path):
        _check(_session_save_state_file(self._handle, os.fsencode(path)))

    def load_state_file(self, path):
        _check(_session_load_state_file(self._handle, os.fsencode(path)))

    def generate(self, tokens, max_tokens=128, temperature=0.8, top_k=40, top_p=0.95, seed=None,
                 stop_at_eog=True, min_p=None, typical_p=None, penalty_last_n=None,
                 repeat_penalty=None, frequency_penalty=None, presence_penalty=None,
                 logit_bias=None, sampler_order=None, stop=(), reasoning=REASONING_NONE,
                 reasoning_tags=None, evaluate_last=False):
        """Evaluates `tokens` at the current position, then yields the generated text piece by
        piece (Piece, valid UTF-8) through fathom_session_generate. logit_bias: {token: bias};
        sampler_order: names from SAMPLER_STAGES; stop: strings that end the generation;
        reasoning: REASONING_*; reasoning_tags: (open, close). None keeps the library's default.
        After the loop, .stop_reason is the FATHOM_STOP_* reason and .generated the tokens."""
        params = GenerateParams()
        _check(_generate_params_init(_c.byref(params), _c.sizeof(params)))
        params.max_tokens, params.temperature, params.top_k, params.top_p = (
            max_tokens, temperature, top_k, top_p)
        params.stop_at_eog, params.evaluate_last, params.reasoning = (
            stop_at_eog, evaluate_last, reasoning)
        if seed is not None:
            params.seed = seed
        for name, value in [("min_p", min_p), ("typical_p", typical_p),
                            ("penalty_last_n", penalty_last_n),
                            ("repeat_penalty", repeat_penalty),
                            ("frequency_penalty", frequency_penalty),
                            ("presence_penalty", presence_penalty)]:
            if value is not None:
                setattr(params, name, value)
        keep = []  # ctypes objects params points to: alive until the generation ends
        if logit_bias:
            bias = (LogitBias * len(logit_bias))(*[LogitBias(t, b) for t, b in
                                                   logit_bias.items()])
            keep.append(bias)
            params.logit_bias, params.n_logit_bias = bias, len(logit_bias)
        if sampler_order:
            order = (_i32 * len(sampler_order))(*[SAMPLER_STAGES[n] for n in sampler_order])
            keep.append(order)
            params.sampler_order, params.n_sampler_order = order, len(sampler_order)
        if stop:
            strings = (_c.c_char_p * len(stop))(*[s.encode("utf-8") for s in stop])
            keep.append(strings)
            params.stop, params.n_stop = strings, len(stop)
        if reasoning_tags:
            params.reasoning_open_tag = reasoning_tags[0].encode("utf-8")
            params.reasoning_close_tag = reasoning_tags[1].encode("utf-8")
        # The worker thread runs the generation; the callbacks hand pieces over a small bounded
        # queue, so the generation runs at most a couple of pieces ahead of the consumer (a
        # consumer that leaves the loop early stops it there, however busy the machine is) and
        # never waits once the consumer is gone.
        pieces = queue.Queue(maxsize=2)
        abandoned = threading.Event()

        def put(item):
            while not abandoned.is_set():
                try:
                    pieces.put(item, timeout=0.05)
                    return
                except queue.Full:
                    pass

        def deliver(reasoning_piece):
            def callback(_, token, text, length):
                if length:
                    put(Piece(_c.string_at(text, length).decode("utf-8", "replace"),
                              reasoning_piece, token))
                return 1 if abandoned.is_set() else 0
            return TOKEN_CALLBACK(callback)

        params.on_token = deliver(False)
        params.on_reasoning = deliver(True)
        prompt = (_i32 * max(len(tokens), 1))(*tokens)
        out = (_i32 * max(max_tokens, 1))()
        n, stop_reason, status = _size(), _i32(), []

        def run():
            try:
                status.append(_session_generate(self._handle, prompt, len(tokens),
                                                _c.byref(params), out, max(max_tokens, 1),
                                                _c.byref(n), _c.byref(stop_reason)))
                status.append(_last_error().decode("utf-8", "replace"))
            finally:
                put(_DONE)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        try:
            while True:
                piece = pieces.get()
                if piece is _DONE:
                    break
                yield piece
        finally:
            if worker.is_alive():  # the consumer left the loop: stop the generation
                abandoned.set()
                _session_cancel(self._handle)
                worker.join()
        self.stop_reason = stop_reason.value
        self.generated = list(out[:n.value])
        if status and status[0] != STATUS_OK and not abandoned.is_set():
            raise Error(status[0], status[1])
