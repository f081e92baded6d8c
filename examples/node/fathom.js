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
const LogitBias = koffi.struct('fathom_logit_bias', {token: 'int32_t', bias: 'float'});
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
  min_p: 'float',
  typical_p: 'float',
  penalty_last_n: 'int32_t',
  repeat_penalty: 'float',
  frequency_penalty: 'float',
  presence_penalty: 'float',
  logit_bias: 'fathom_logit_bias*',
  n_logit_bias: 'size_t',
  sampler_order: 'int32_t*',
  n_sampler_order: 'size_t',
  stop: 'const char**',
  n_stop: 'size_t',
  on_reasoning: 'fathom_token_callback*',
  reasoning_open_tag: 'const char*',
  reasoning_close_tag: 'const char*',
  reasoning: 'uint8_t',
  evaluate_last: 'uint8_t',
  reserved2: koffi.array('uint8_t', 6),
  speculative: 'int32_t',
  n_draft: 'int32_t',
});
const SAMPLER_STAGES = {penalties: 0, top_k: 1, typical_p: 2, top_p: 3, min_p: 4, temperature: 5};
const REASONING = {none: 0, split: 1, split_start_inside: 2};
const ChatMessage = koffi.struct('fathom_chat_message', {role: 'const char*', content: 'const char*'});

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
  generate_params_init: lib.func('int32_t fathom_generate_params_init(' +
                                 '_Out_ fathom_generate_params* params, size_t struct_size)'),
  session_tokens: lib.func('int32_t fathom_session_tokens(const fathom_session* s, ' +
                           '_Out_ int32_t* tokens, size_t capacity, _Out_ size_t* n)'),
  session_save_state: lib.func('int32_t fathom_session_save_state(const fathom_session* s, ' +
                               '_Out_ uint8_t* buf, size_t capacity, _Out_ size_t* size)'),
  session_load_state: lib.func('int32_t fathom_session_load_state(fathom_session* s, ' +
                               'const uint8_t* data, size_t size)'),
  session_save_state_file: lib.func(
    'int32_t fathom_session_save_state_file(const fathom_session* s, const char* path)'),
  session_load_state_file: lib.func(
    'int32_t fathom_session_load_state_file(fathom_session* s, const char* path)'),
  chat_apply_template: lib.func('int32_t fathom_chat_apply_template(const fathom_model* m, ' +
                                'const fathom_chat_message* messages, size_t n, uint8_t add_gen, ' +
                                '_Out_ uint8_t* buf, size_t capacity, _Out_ size_t* len)'),
  session_generate: lib.func(
    'int32_t fathom_session_generate(fathom_session* s, const int32_t* prompt, size_t n_prompt, ' +
    'const fathom_generate_params* params, _Out_ int32_t* out_tokens, size_t capacity, ' +
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

  // The prompt for `messages` ([{role, content}]) from the model's chat template.
  applyChatTemplate(messages, addGenerationPrompt = true) {
    const n = [0];
    check(c.chat_apply_template(this.handle, messages, messages.length, addGenerationPrompt ? 1 : 0,
                                null, 0, n));
    const buf = Buffer.alloc(n[0] + 1);
    check(c.chat_apply_template(this.handle, messages, messages.length, addGenerationPrompt ? 1 : 0,
                                buf, buf.length, n));
    return buf.toString('utf8', 0, n[0]);
  }

  // Generates from `prompt` (text, with BOS) in a new session; see Session.generate.
  generate(prompt, options, onText) {
    const session = new Session(this);
    try {
      return session.generate(this.tokenize(prompt), options, onText);
    } finally {
      session.close();
    }
  }
}

// One conversation over a model (its KV cache); one caller at a time.
class Session {
  constructor(model) {
    const out = [null];
    check(c.session_create(model.handle, null, out));
    this.handle = out[0];
  }

  close() {
    if (this.handle) c.session_free(this.handle);
    this.handle = null;
  }

  get tokens() {
    const n = [0];
    check(c.session_tokens(this.handle, null, 0, n));
    const tokens = new Int32Array(Math.max(n[0], 1));
    check(c.session_tokens(this.handle, tokens, tokens.length, n));
    return Array.from(tokens.subarray(0, n[0]));
  }

  // The session's state (tokens, KV cache, logits, RNG) as a Buffer, and its restoration.
  saveState() {
    const n = [0];
    check(c.session_save_state(this.handle, null, 0, n));
    const buf = Buffer.alloc(n[0]);
    check(c.session_save_state(this.handle, buf, buf.length, n));
    return buf;
  }

  loadState(buf) {
    check(c.session_load_state(this.handle, buf, buf.length));
  }

  saveStateFile(path) {
    check(c.session_save_state_file(this.handle, path));
  }

  loadStateFile(path) {
    check(c.session_load_state_file(this.handle, path));
  }

  // Evaluates `tokens` at the current position and generates, calling onText(text, isReasoning)
  // for every piece of text as it becomes complete (return true to stop). options: the fields of
  // fathom_generate_params (temperature, max_tokens, min_p, repeat_penalty, ...) plus
  // stop: [strings], logitBias: {token: bias}, samplerOrder: [names of SAMPLER_STAGES],
  // reasoning: 'none' | 'split' | 'split_start_inside', reasoningTags: [open, close].
  // Returns {stopReason, tokens}.
  generate(tokens, options, onText) {
    const {stop, logitBias, samplerOrder, reasoning, reasoningTags, ...fields} = options || {};
    // koffi hands `const char* piece` (NUL-terminated, valid UTF-8) over as a JS string.
    const onToken = koffi.register((userData, token, piece) => (onText(piece, false) ? 1 : 0),
                                   koffi.pointer(TokenCallback));
    const onReasoning = koffi.register((userData, token, piece) => (onText(piece, true) ? 1 : 0),
                                       koffi.pointer(TokenCallback));
    try {
      const params = {};
      check(c.generate_params_init(params, koffi.sizeof(GenerateParams)));
      Object.assign(params, fields, {on_token: onToken, on_reasoning: onReasoning});
      if (stop && stop.length) Object.assign(params, {stop, n_stop: stop.length});
      if (logitBias) {
        const entries = Object.entries(logitBias).map(([t, b]) => ({token: Number(t), bias: b}));
        Object.assign(params, {logit_bias: entries, n_logit_bias: entries.length});
      }
      if (samplerOrder && samplerOrder.length) {
        const order = Int32Array.from(samplerOrder.map((name) => SAMPLER_STAGES[name]));
        Object.assign(params, {sampler_order: order, n_sampler_order: order.length});
      }
      if (reasoning) params.reasoning = REASONING[reasoning];
      if (reasoningTags) {
        Object.assign(params, {reasoning_open_tag: reasoningTags[0],
                               reasoning_close_tag: reasoningTags[1]});
      }
      const out = new Int32Array(Math.max(params.max_tokens, 1));
      const n = [0];
      const stopReason = [0];
      check(c.session_generate(this.handle, tokens, tokens.length, params, out, out.length, n,
                               stopReason));
      return {stopReason: stopReason[0], tokens: Array.from(out.subarray(0, n[0]))};
    } finally {
      koffi.unregister(onToken);
      koffi.unregister(onReasoning);
    }
  }
}

const STOP = {MAX_TOKENS: 0, EOG: 1, CALLBACK: 2, CANCELLED: 3, CONTEXT_FULL: 4, STRING: 5};

module.exports = {Model, Session, FathomError, ABI_VERSION, STOP, SAMPLER_STAGES,
                  version: () => c.version_string()};
