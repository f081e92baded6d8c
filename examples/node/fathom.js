// fathom from Node.js through koffi (FFI): a binding of the C ABI (capi/fathom.h) and a small
// wrapper. The shared library is $FATHOM_LIBRARY, else libfathom.so.0 from the system's path.
'use strict';

const koffi = require('koffi');

const ABI_VERSION = 0; // the FATHOM_ABI_VERSION this module was written for
const lib = koffi.load(process.env.FATHOM_LIBRARY || `libfathom.so.${ABI_VERSION}`);

koffi.opaque('fathom_model');
koffi.opaque('fathom_session');
const TokenCallback = koffi.proto(
  'int32_t fathom_token_callback(void* user_data, int32_t token, const char* piece, size_t len)');
const GenerateParams = koffi.struct('fathom_generate_params', {
  struct_size: 'size_t',
  seed: 'uint64_t',
  on_token: 'fathom_token_callback*',
  user_data: 'void*',
  temperature: 'float',
  top_k: 'int32_t',
  top_p: 'float',
  max_tokens: 'int32_t',
  stop_at_eog: 'uint8_t',
  reserved: koffi.array('uint8_t', 7),
});

const c = {
  abi_version: lib.func('int32_t fathom_abi_version(void)'),
  version_string: lib.func('const char* fathom_version_string(void)'),
  last_error: lib.func('const char* fathom_last_error(void)'),
  status_string: lib.func('const char* fathom_status_string(int32_t code)'),
  model_load: lib.func(
    'int32_t fathom_model_load(const char* path, void* params, _Out_ fathom_model** out)'),
  model_free: lib.func('void fathom_model_free(fathom_model* model)'),
  model_architecture: lib.func('const char* fathom_model_architecture(const fathom_model* m)'),
  tokenize: lib.func('int32_t fathom_tokenize(const fathom_model* m, const char* text, ' +
                     'size_t len, uint8_t add_bos, uint8_t parse_special, _Out_ int32_t* tokens, ' +
                     'size_t capacity, _Out_ size_t* n)'),
  session_create: lib.func('int32_t fathom_session_create(const fathom_model* m, void* params, ' +
                           '_Out_ fathom_session** out)'),
  session_free: lib.func('void fathom_session_free(fathom_session* s)'),
  generate_default_params: lib.func(
    'int32_t fathom_generate_default_params(_Out_ fathom_generate_params* params)'),
  session_generate: lib.func(
    'int32_t fathom_session_generate(fathom_session* s, const int32_t* prompt, size_t n_prompt, ' +
    'const fathom_generate_params* params, void* out_tokens, size_t capacity, ' +
    '_Out_ size_t* n_tokens, _Out_ int32_t* stop_reason)'),
};

class FathomError extends Error {
  constructor(code) {
    super(`${c.status_string(code)}: ${c.last_error()}`);
    this.code = code;
  }
}

function check(status) {
  if (status !== 0) throw new FathomError(status);
}

class Model {
  constructor(path) {
    if (c.abi_version() !== ABI_VERSION) {
      throw new Error(`libfathom has ABI ${c.abi_version()}, fathom.js expects ${ABI_VERSION}`);
    }
    const out = [null];
    check(c.model_load(path, null, out));
    this.handle = out[0];
  }

  close() {
    if (this.handle) c.model_free(this.handle);
    this.handle = null;
  }

  get architecture() {
    return c.model_architecture(this.handle);
  }

  tokenize(text, addBos = true) {
    const bytes = Buffer.byteLength(text, 'utf8');
    const n = [0];
    check(c.tokenize(this.handle, text, bytes, addBos ? 1 : 0, 0, null, 0, n));
    const tokens = new Int32Array(Math.max(n[0], 1));
    check(c.tokenize(this.handle, text, bytes, addBos ? 1 : 0, 0, tokens, tokens.length, n));
    return tokens.subarray(0, n[0]);
  }

  // Generates from `prompt` (text, with BOS) in a new session, calling onText(text) for every
  // piece of text as it becomes complete (return true from onText to stop). Returns the stop
  // reason (FATHOM_STOP_*).
  generate(prompt, options, onText) {
    const out = [null];
    check(c.session_create(this.handle, null, out));
    const session = out[0];
    // koffi hands `const char* piece` (NUL-terminated, valid UTF-8) over as a JS string.
    const callback = koffi.register((userData, token, piece) => (onText(piece) ? 1 : 0),
                                    koffi.pointer(TokenCallback));
    try {
      const params = {};
      check(c.generate_default_params(params));
      Object.assign(params, options, {on_token: callback});
      const tokens = this.tokenize(prompt);
      const n = [0];
      const stop = [0];
      check(c.session_generate(session, tokens, tokens.length, params, null, 0, n, stop));
      return stop[0];
    } finally {
      koffi.unregister(callback);
      c.session_free(session);
    }
  }
}

module.exports = {Model, FathomError, ABI_VERSION, version: () => c.version_string()};
