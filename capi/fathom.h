/* fathom's C ABI: the stable interface other languages and programs bind to (see docs/C_API.md).
 *
 * Rules: opaque handles; every symbol starts with fathom_; functions that can fail return a
 * fathom_status (0 = OK) and leave a message in fathom_last_error(); parameter structs start with
 * struct_size, are filled by fathom_*_default_params() (a macro that passes the caller's
 * sizeof to fathom_*_params_init), only grow at the end and are passed by
 * pointer; a NULL or wrong handle, a NULL pointer or a too-small buffer gives an error code, never
 * a crash; destroying NULL is a no-op. Signatures never change once released: a changed function
 * gets a new name (fathom_x_v2) and the old one keeps working. */
#ifndef FATHOM_CAPI_FATHOM_H_
#define FATHOM_CAPI_FATHOM_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(FATHOM_BUILDING_LIBRARY)
#define FATHOM_API __declspec(dllexport)
#else
#define FATHOM_API
#endif
#elif defined(FATHOM_BUILDING_LIBRARY)
#define FATHOM_API __attribute__((visibility("default")))
#else
#define FATHOM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- versions ---- */

/* The ABI major version this header describes; the shared library's SONAME carries the same
 * number. Compare with fathom_abi_version() to detect a header/library mismatch. */
#define FATHOM_ABI_VERSION 0

FATHOM_API int32_t fathom_abi_version(void);
/* The library's release, e.g. "fathom 0.1.0"; a static string. */
FATHOM_API const char* fathom_version_string(void);

/* ---- status codes ---- */

/* Abseil's canonical codes, plus fathom's own above 100. Codes are added, never renumbered. */
typedef int32_t fathom_status;
#define FATHOM_STATUS_OK 0
#define FATHOM_STATUS_CANCELLED 1
#define FATHOM_STATUS_UNKNOWN 2
#define FATHOM_STATUS_INVALID_ARGUMENT 3
#define FATHOM_STATUS_NOT_FOUND 5
#define FATHOM_STATUS_ALREADY_EXISTS 6
#define FATHOM_STATUS_PERMISSION_DENIED 7
#define FATHOM_STATUS_RESOURCE_EXHAUSTED 8 /* also: the caller's buffer is too small */
#define FATHOM_STATUS_FAILED_PRECONDITION 9
#define FATHOM_STATUS_OUT_OF_RANGE 11
#define FATHOM_STATUS_UNIMPLEMENTED 12
#define FATHOM_STATUS_INTERNAL 13
#define FATHOM_STATUS_UNAVAILABLE 14
#define FATHOM_STATUS_DATA_LOSS 15
#define FATHOM_STATUS_CONTEXT_FULL 101 /* the session's context has no room for more tokens */

/* The message of the last failed call on this thread; "" once a later call that can fail (one
 * taking a handle, params or out-pointers) succeeds. Valid until the next fathom call on this
 * thread. Never NULL. */
FATHOM_API const char* fathom_last_error(void);
/* The name of a status code ("OK", "INVALID_ARGUMENT", ...; "UNRECOGNIZED" for others); static. */
FATHOM_API const char* fathom_status_string(fathom_status code);

/* Frees memory that the library allocated for the caller (fathom_detokenize). NULL is a no-op. */
FATHOM_API void fathom_free(void* ptr);

/* ---- handles ---- */

typedef struct fathom_model fathom_model;     /* immutable loaded model; any thread */
typedef struct fathom_session fathom_session; /* one conversation; one caller at a time */
typedef struct fathom_sampler fathom_sampler; /* picks tokens from logits; one caller at a time */
typedef struct fathom_detokenizer fathom_detokenizer; /* token stream -> UTF-8 text; one caller */

/* ---- callbacks ---- */

/* Load progress in [0, 1]; return non-zero to cancel the load (it then fails with CANCELLED). */
typedef int32_t (*fathom_progress_callback)(void* user_data, float progress);
/* One generated token and the text that became complete with it (valid UTF-8, possibly empty,
 * NUL-terminated, valid only during the call). Return non-zero to stop the generation. A last
 * call with token == -1 may follow, delivering bytes held back at the end (an incomplete
 * character, as U+FFFD); its return value is ignored. */
typedef int32_t (*fathom_token_callback)(void* user_data, int32_t token, const char* piece,
                                         size_t piece_len);

/* ---- model ---- */

typedef struct fathom_model_params {
  size_t struct_size;                /* sizeof(fathom_model_params); set by default_params */
  fathom_progress_callback progress; /* NULL: none */
  void* progress_user_data;
} fathom_model_params;

/* Fills the first struct_size bytes of *params with the defaults (struct_size included). Pass
 * sizeof(fathom_model_params) as the caller was compiled, as the macro
 * fathom_model_default_params(&params) does: a caller built against an older, smaller layout
 * gets its own fields only, so the library never writes or reads past the caller's struct. Only
 * sizes of released layouts are accepted. */
FATHOM_API fathom_status fathom_model_params_init(fathom_model_params* params, size_t struct_size);
#define fathom_model_default_params(params) fathom_model_params_init((params), sizeof(*(params)))
/* Loads a GGUF file (memory-mapped, or copied into huge pages: docs/C_API.md) or a Hugging Face
 * folder. params may be NULL (defaults). On success *out_model owns
 * the model; on failure it is set to NULL. */
FATHOM_API fathom_status fathom_model_load(const char* path, const fathom_model_params* params,
                                           fathom_model** out_model);
/* Sessions keep their model alive: a model may be freed while sessions still use it. */
FATHOM_API void fathom_model_free(fathom_model* model);

/* Metadata. On a NULL or wrong handle these return NULL / 0 / -1 and set fathom_last_error().
 * Strings are owned by the model and live as long as it. */
FATHOM_API const char* fathom_model_architecture(const fathom_model* model); /* "llama", ... */
FATHOM_API const char* fathom_model_name(const fathom_model* model);         /* "" if unnamed */
FATHOM_API int64_t fathom_model_n_params(const fathom_model* model);
FATHOM_API int32_t fathom_model_n_vocab(const fathom_model* model);
FATHOM_API int32_t fathom_model_n_ctx_train(const fathom_model* model);
FATHOM_API int32_t fathom_model_n_embd(const fathom_model* model);
FATHOM_API int32_t fathom_model_n_layer(const fathom_model* model);
FATHOM_API int32_t fathom_model_n_head(const fathom_model* model);
FATHOM_API int32_t fathom_model_n_head_kv(const fathom_model* model);
/* KV cache bytes one token occupies in a session (all layers): n_ctx times this is the cache. */
FATHOM_API int64_t fathom_model_kv_bytes_per_token(const fathom_model* model);
FATHOM_API int32_t fathom_model_token_bos(const fathom_model* model); /* -1: none */
FATHOM_API int32_t fathom_model_token_eos(const fathom_model* model); /* -1: none */
/* The chat template (Jinja text, as in tokenizer_config.json or tokenizer.chat_template) that
 * came with the model; "" when none. Rendering it is up to the caller. */
FATHOM_API const char* fathom_model_chat_template(const fathom_model* model);
/* 1 when the token ends a generation (EOS, EOT, ...), else 0. */
FATHOM_API uint8_t fathom_model_token_is_eog(const fathom_model* model, int32_t token);

/* ---- tokenizer ---- */

/* Tokenizes text_len bytes of text (no NUL needed). Two-phase: with tokens == NULL only
 * *out_n_tokens is set (OK); with a buffer smaller than needed, *out_n_tokens is set and the
 * result is RESOURCE_EXHAUSTED. add_bos: prepend BOS when the vocabulary has one; parse_special:
 * recognise control-token text such as "</s>". */
FATHOM_API fathom_status fathom_tokenize(const fathom_model* model, const char* text,
                                         size_t text_len, uint8_t add_bos, uint8_t parse_special,
                                         int32_t* tokens, size_t capacity, size_t* out_n_tokens);
/* The bytes a token stands for (may be part of a UTF-8 character; "" for control tokens).
 * *out_len is the length without the terminating NUL that is written too, so the buffer needs
 * *out_len + 1 bytes. Two-phase as fathom_tokenize. */
FATHOM_API fathom_status fathom_token_to_piece(const fathom_model* model, int32_t token, char* buf,
                                               size_t capacity, size_t* out_len);
/* The stored text of a token as the vocabulary spells it, also for special tokens, whose piece is
 * "" (e.g. "<s>"); "" for an id outside the vocabulary. Two-phase as fathom_token_to_piece. */
FATHOM_API fathom_status fathom_token_text(const fathom_model* model, int32_t token, char* buf,
                                           size_t capacity, size_t* out_len);
/* The concatenated pieces of n_tokens tokens, NUL-terminated, allocated by the library: free
 * *out_text with fathom_free. out_len may be NULL. */
FATHOM_API fathom_status fathom_detokenize(const fathom_model* model, const int32_t* tokens,
                                           size_t n_tokens, char** out_text, size_t* out_len);

/* Text as the tokenizer's own library decodes it (Hugging Face tokenizers' decoder,
 * sentencepiece's decode; GGUF vocabularies: concatenated pieces); skip_special 1 drops special
 * tokens such as BOS/EOS. Allocated as fathom_detokenize's: free *out_text with fathom_free;
 * out_len may be NULL. */
FATHOM_API fathom_status fathom_detokenize_ex(const fathom_model* model, const int32_t* tokens,
                                              size_t n_tokens, uint8_t skip_special,
                                              char** out_text, size_t* out_len);

/* ---- chat templates ---- */

/* One message of a conversation: NUL-terminated UTF-8 role ("system", "user", "assistant",
 * ...) and content. */
typedef struct fathom_chat_message {
  const char* role;
  const char* content;
} fathom_chat_message;

/* Renders the model's chat template for n_messages messages, as transformers'
 * apply_chat_template does (bos_token/eos_token from the tokenizer; tools = None).
 * add_generation_prompt: 1 appends the assistant turn opener. Two-phase as
 * fathom_token_to_piece: *out_len is the prompt's length without the NUL written after it; with
 * buf == NULL only *out_len is set; a buffer smaller than *out_len + 1 gives RESOURCE_EXHAUSTED.
 * FAILED_PRECONDITION when the model has no chat template; INVALID_ARGUMENT for a template error
 * or raise_exception() (fathom_last_error names the line and column). */
FATHOM_API fathom_status fathom_chat_apply_template(const fathom_model* model,
                                                    const fathom_chat_message* messages,
                                                    size_t n_messages,
                                                    uint8_t add_generation_prompt, char* buf,
                                                    size_t capacity, size_t* out_len);

/* Options of fathom_chat_apply_template_ex: transformers' apply_chat_template arguments. */
typedef struct fathom_chat_template_params {
  size_t struct_size;         /* sizeof(fathom_chat_template_params); set by default_params */
  const char* variables_json; /* NULL, or a JSON object of extra template variables, e.g.
                                 "{\"enable_thinking\": false}" or {"tools": [...]}; they
                                 override bos_token/eos_token; "messages" and
                                 "add_generation_prompt" are refused (NULL) */
  const char* messages_json;  /* NULL, or a JSON array of message objects rendered instead of
                                 messages (for tool_calls, reasoning_content, ...) (NULL) */
  const char* bos_token;      /* bos_token as the template sees it; NULL or "": the tokenizer's */
  const char* eos_token;      /* eos_token likewise (NULL) */
  uint8_t add_generation_prompt; /* 1 appends the assistant turn opener (0) */
  uint8_t reserved[7];           /* 0; keeps the struct free of padding */
} fathom_chat_template_params;

/* Writes the defaults into the first struct_size bytes of *params; struct_size must be
 * sizeof(fathom_chat_template_params) as the caller was compiled, which
 * fathom_chat_template_default_params(&params) passes. */
FATHOM_API fathom_status fathom_chat_template_params_init(fathom_chat_template_params* params,
                                                          size_t struct_size);
#define fathom_chat_template_default_params(params) \
  fathom_chat_template_params_init((params), sizeof(*(params)))

/* fathom_chat_apply_template with all of the C++ options: params may be NULL (defaults);
 * messages may be NULL with n_messages 0 when params->messages_json is given. Two-phase as
 * fathom_chat_apply_template. INVALID_ARGUMENT also for malformed variables_json or
 * messages_json (fathom_last_error says which). */
FATHOM_API fathom_status fathom_chat_apply_template_ex(const fathom_model* model,
                                                       const fathom_chat_message* messages,
                                                       size_t n_messages,
                                                       const fathom_chat_template_params* params,
                                                       char* buf, size_t capacity, size_t* out_len);

/* Streaming detokenization: turns tokens, one at a time, into valid UTF-8 text. Bytes of a
 * character split across tokens are held back until it is complete. The detokenizer keeps its
 * model alive. On failure *out_detokenizer is set to NULL. */
FATHOM_API fathom_status fathom_detokenizer_create(const fathom_model* model,
                                                   fathom_detokenizer** out_detokenizer);
FATHOM_API void fathom_detokenizer_free(fathom_detokenizer* detokenizer);
/* Pushes one token: *out_text is the text that became complete with it (NUL-terminated, possibly
 * empty), owned by the detokenizer and valid until its next call or free. out_len may be NULL. */
FATHOM_API fathom_status fathom_detokenizer_push(fathom_detokenizer* detokenizer, int32_t token,
                                                 const char** out_text, size_t* out_len);
/* Returns whatever is held back (an incomplete character becomes U+FFFD) and starts over: the
 * detokenizer can be used for a new stream. *out_text as for push. */
FATHOM_API fathom_status fathom_detokenizer_flush(fathom_detokenizer* detokenizer,
                                                  const char** out_text, size_t* out_len);

/* ---- session ---- */

typedef struct fathom_session_params {
  size_t struct_size;  /* sizeof(fathom_session_params); set by default_params */
  int32_t n_ctx;       /* context size in tokens; 0 = min(training context, 4096) */
  int32_t n_threads;   /* 0 = all hardware threads */
  int32_t n_batch;     /* prompt tokens per forward pass; 0 = 512 */
  uint8_t mtp;         /* 1: run the model's multi-token-prediction module (DeepSeek-V3) too */
  uint8_t reserved[3]; /* 0; keeps the struct free of padding */
  /* -- added in ABI 0 revision 1 (older callers' smaller struct_size gets the defaults) -- */
  int32_t context_overflow; /* FATHOM_CONTEXT_OVERFLOW_*: when tokens do not fit (default ERROR) */
  int32_t n_keep;           /* with SHIFT: tokens at the start never dropped (< n_ctx; default 0) */
} fathom_session_params;

/* fathom_session_params.context_overflow: what happens when a prompt or a generated token does
 * not fit in the context. */
#define FATHOM_CONTEXT_OVERFLOW_ERROR 0 /* evaluate gives CONTEXT_FULL, generate stops */
/* llama.cpp's context shift: keep the first n_keep tokens, drop the oldest half of the rest and
 * go on (not available with mtp). */
#define FATHOM_CONTEXT_OVERFLOW_SHIFT 1

/* Fills the first struct_size bytes of *params with the defaults (struct_size included). Pass
 * sizeof(fathom_session_params) as the caller was compiled, which fathom_session_default_params
 * does: a caller built against an older, smaller layout gets its own fields only, so the library
 * never writes or reads past the caller's struct. Only sizes of released layouts are accepted. */
FATHOM_API fathom_status fathom_session_params_init(fathom_session_params* params,
                                                    size_t struct_size);
#define fathom_session_default_params(params) \
  fathom_session_params_init((params), sizeof(*(params)))
/* params may be NULL (defaults). On failure *out_session is set to NULL. */
FATHOM_API fathom_status fathom_session_create(const fathom_model* model,
                                               const fathom_session_params* params,
                                               fathom_session** out_session);
FATHOM_API void fathom_session_free(fathom_session* session);
/* Empties the KV cache (position 0). */
FATHOM_API fathom_status fathom_session_reset(fathom_session* session);
/* Keeps the first n cached tokens and drops the rest; 0 <= n <= position. */
FATHOM_API fathom_status fathom_session_truncate(fathom_session* session, int32_t n);
/* Tokens in the KV cache; -1 on a bad handle. */
FATHOM_API int32_t fathom_session_position(const fathom_session* session);
/* The context size in tokens; -1 on a bad handle. */
FATHOM_API int32_t fathom_session_n_ctx(const fathom_session* session);

/* Appends tokens at the current position and runs them through the model. With all_logits the
 * logits of every evaluated position are kept, otherwise only the last position's. */
FATHOM_API fathom_status fathom_session_evaluate(fathom_session* session, const int32_t* tokens,
                                                 size_t n_tokens, uint8_t all_logits);
/* Makes the session hold exactly these tokens (n_tokens >= 1): keeps the longest common prefix of
 * the cached tokens and `tokens`, drops the rest and evaluates only the differing suffix (at
 * least the last token, so the logits are current; only the last row is kept). Multi-turn chat
 * re-evaluates only the new turn; fathom_session_n_evaluated shows what ran. */
FATHOM_API fathom_status fathom_session_evaluate_reusing_prefix(fathom_session* session,
                                                                const int32_t* tokens,
                                                                size_t n_tokens);
/* The tokens in the KV cache, two-phase: with tokens == NULL only *out_n_tokens is set; a
 * buffer smaller than the position gives RESOURCE_EXHAUSTED (and *out_n_tokens). */
FATHOM_API fathom_status fathom_session_tokens(const fathom_session* session, int32_t* tokens,
                                               size_t capacity, size_t* out_n_tokens);
/* Tokens this session has run through the model so far (prefix reuse shows in it), tokens dropped
 * by context shifts so far, bytes of its KV cache, bytes of all its memory (cache, scratch,
 * logits). -1 on a bad handle. */
FATHOM_API int64_t fathom_session_n_evaluated(const fathom_session* session);
FATHOM_API int64_t fathom_session_n_shifted(const fathom_session* session);
FATHOM_API int64_t fathom_session_kv_cache_bytes(const fathom_session* session);
FATHOM_API int64_t fathom_session_memory_bytes(const fathom_session* session);

/* Rows of logits kept by the last evaluation (0 before any); -1 on a bad handle. */
FATHOM_API int32_t fathom_session_n_logits(const fathom_session* session);
/* Row `index` (0 <= index < n_logits; -1 = the last) of the last evaluation: *out_logits points to
 * *out_n_vocab floats owned by the session, valid until its next evaluate, generate, truncate,
 * reset or free. out_n_vocab may be NULL. */
FATHOM_API fathom_status fathom_session_logits(const fathom_session* session, int32_t index,
                                               const float** out_logits, int32_t* out_n_vocab);

/* With fathom_session_params.mtp: MTP rows computed by the last evaluation (0 before any); -1
 * on a bad handle. Row i belongs to position fathom_session_mtp_first_position() + i and predicts
 * the token two positions later (rows lag one position: each needs the following token). */
FATHOM_API int32_t fathom_session_n_mtp_logits(const fathom_session* session);
FATHOM_API int32_t fathom_session_mtp_first_position(const fathom_session* session);
/* MTP row `index` (0 <= index < n_mtp_logits): like fathom_session_logits. */
FATHOM_API fathom_status fathom_session_mtp_logits(const fathom_session* session, int32_t index,
                                                   const float** out_logits, int32_t* out_n_vocab);

/* Why a generation ended. */
#define FATHOM_STOP_MAX_TOKENS 0   /* max_tokens were generated */
#define FATHOM_STOP_EOG 1          /* the model produced an end-of-generation token */
#define FATHOM_STOP_CALLBACK 2     /* the token callback returned non-zero */
#define FATHOM_STOP_CANCELLED 3    /* fathom_session_cancel() */
#define FATHOM_STOP_CONTEXT_FULL 4 /* the context has no room for the next token */
#define FATHOM_STOP_STRING 5       /* one of fathom_generate_params.stop appeared */

/* fathom_generate_params.reasoning: how a reasoning model's thoughts (DeepSeek-R1 writes them
 * between <think> and </think> before its answer) are delivered. */
#define FATHOM_REASONING_NONE 0 /* no separation: tags and thoughts are ordinary text */
/* Separate them: on_reasoning receives the thoughts, on_token only the answer. Generation starts
 * inside the block when the session's text (the prompt) ends with the open tag, as R1 chat
 * templates' generation prompt ("...<think>\n") does. */
#define FATHOM_REASONING_SPLIT 1
#define FATHOM_REASONING_SPLIT_START_INSIDE 2 /* separate; always start inside the block */

/* Sampler stages for the *order fields: the chain applies them in the given order (after the
 * logit bias; the draw, or argmax with temperature <= 0, comes last). Default: PENALTIES, TOP_K,
 * TYPICAL_P, TOP_P, MIN_P, TEMPERATURE (llama.cpp's order). */
#define FATHOM_SAMPLER_PENALTIES 0
#define FATHOM_SAMPLER_TOP_K 1
#define FATHOM_SAMPLER_TYPICAL_P 2
#define FATHOM_SAMPLER_TOP_P 3
#define FATHOM_SAMPLER_MIN_P 4
#define FATHOM_SAMPLER_TEMPERATURE 5

/* Added to a token's logit before anything else (-INFINITY bans the token). */
typedef struct fathom_logit_bias {
  int32_t token;
  float bias;
} fathom_logit_bias;

typedef struct fathom_generate_params {
  size_t struct_size; /* sizeof(fathom_generate_params); set by default_params */
  uint64_t seed;      /* the session keeps its RNG: same seed continues, another restarts */
  fathom_token_callback on_token; /* NULL: none */
  void* user_data;                /* passed to on_token */
  float temperature;              /* <= 0: greedy (argmax) */
  int32_t top_k;                  /* <= 0: disabled */
  float top_p;                    /* >= 1: disabled */
  int32_t max_tokens;             /* tokens to generate at most (>= 0) */
  uint8_t stop_at_eog;            /* stop at an end-of-generation token (default 1) */
  uint8_t reserved[7];            /* 0; keeps the struct free of padding */
  /* -- added in ABI 0 revision 1 (older callers' smaller struct_size gets the defaults) -- */
  /* The rest of the sampler chain, as in fathom_sampler_params. */
  float min_p;             /* keep tokens with p >= min_p * p(best); <= 0 disables (0.05) */
  float typical_p;         /* locally typical sampling; >= 1 disables (1) */
  int32_t penalty_last_n;  /* penalty window over the session's last tokens; 0 off, -1 all (64) */
  float repeat_penalty;    /* 1 disables (1) */
  float frequency_penalty; /* 0 disables (0) */
  float presence_penalty;  /* 0 disables (0) */
  const fathom_logit_bias* logit_bias; /* n_logit_bias entries, read during the call; NULL: none */
  size_t n_logit_bias;
  const int32_t* sampler_order; /* n_sampler_order FATHOM_SAMPLER_*; NULL/0: the default order */
  size_t n_sampler_order;
  /* Stop strings: n_stop NUL-terminated UTF-8 strings (read during the call). Generation stops
   * when the text contains one (stop reason FATHOM_STOP_STRING); text that may be the start of
   * one is held back, and neither it nor what follows reaches on_token. They may span tokens. */
  const char* const* stop;
  size_t n_stop;
  /* Reasoning (FATHOM_REASONING_*, default NONE): with SPLIT*, text between the tags goes to
   * on_reasoning (same user_data; called with the token that completed it, token -1 at the end)
   * and never to on_token, which then receives only the answer, still once per token. A non-zero
   * return from on_reasoning stops the generation like one from on_token. The tags are dropped;
   * stop strings see the text with them. */
  fathom_token_callback on_reasoning; /* NULL: reasoning is dropped */
  const char* reasoning_open_tag;     /* NULL: "<think>" */
  const char* reasoning_close_tag;    /* NULL: "</think>" */
  uint8_t reasoning;
  /* 1: also evaluate the last generated token when generation ended by max_tokens, a stop string
   * or the callback, so the session's logits predict the next one: an empty prompt then continues
   * where one longer generation would have gone (use it before saving the state). Default 0. */
  uint8_t evaluate_last;
  uint8_t reserved2[6]; /* 0 */
  /* Speculative decoding (see FATHOM_SPECULATIVE_*). */
  int32_t speculative; /* FATHOM_SPECULATIVE_NONE (default) or FATHOM_SPECULATIVE_MTP */
  int32_t n_draft;     /* tokens drafted per step with MTP, 1..FATHOM_MAX_DRAFT (default 1) */
} fathom_generate_params;

/* Speculative decoding. MTP: DeepSeek-V3's multi-token-prediction module drafts n_draft tokens,
 * one batched forward of the model verifies them; greedy output is identical to NONE and sampled
 * output has exactly the model's distribution. Needs a session created with params.mtp = 1. */
#define FATHOM_SPECULATIVE_NONE 0
#define FATHOM_SPECULATIVE_MTP 1
#define FATHOM_MAX_DRAFT 3

/* Fills the first struct_size bytes of *params with the defaults (struct_size included). Pass
 * sizeof(fathom_generate_params) as the caller was compiled, which fathom_generate_default_params
 * does: a caller built against an older, smaller layout gets its own fields only, so the library
 * never writes or reads past the caller's struct. Only sizes of released layouts are accepted. */
FATHOM_API fathom_status fathom_generate_params_init(fathom_generate_params* params,
                                                     size_t struct_size);
#define fathom_generate_default_params(params) \
  fathom_generate_params_init((params), sizeof(*(params)))

/* Evaluates the prompt at the current position (appending to the KV cache; an empty prompt
 * continues from the last evaluation's logits), then samples up to max_tokens tokens, calling
 * on_token for each. Every generated token but the last is in the KV cache afterwards: to go on,
 * pass the last one as the next prompt. out_tokens may be NULL; otherwise it must hold max_tokens
 * ids (checked before anything runs: capacity < max_tokens is INVALID_ARGUMENT). out_n_tokens and
 * out_stop_reason (FATHOM_STOP_*) may be NULL. A stop by the callback or at end-of-generation is
 * OK; fathom_session_cancel() gives CANCELLED with the tokens produced so far reported. */
FATHOM_API fathom_status fathom_session_generate(fathom_session* session, const int32_t* prompt,
                                                 size_t n_prompt,
                                                 const fathom_generate_params* params,
                                                 int32_t* out_tokens, size_t capacity,
                                                 size_t* out_n_tokens, int32_t* out_stop_reason);
/* ---- session state ---- */

/* A session's state: its tokens, KV cache, last logits and sampler RNG, as one checksummed image
 * (docs/SESSIONS.md). Restoring needs the same model (checked by a fingerprint: otherwise
 * FAILED_PRECONDITION) and a context that holds the saved tokens (CONTEXT_FULL); a corrupted or
 * truncated image gives DATA_LOSS and leaves the session as it was. */
/* Two-phase: with buf == NULL *out_size is set to the image's size (OK); a buffer smaller than
 * that gives RESOURCE_EXHAUSTED with *out_size set; otherwise the image is written to buf and
 * *out_size is its size. */
FATHOM_API fathom_status fathom_session_save_state(const fathom_session* session, void* buf,
                                                   size_t capacity, size_t* out_size);
FATHOM_API fathom_status fathom_session_load_state(fathom_session* session, const void* data,
                                                   size_t size);
/* The same image in a file (written atomically: a temporary file, then a rename). */
FATHOM_API fathom_status fathom_session_save_state_file(const fathom_session* session,
                                                        const char* path);
FATHOM_API fathom_status fathom_session_load_state_file(fathom_session* session, const char* path);
/* The seed of the sampler whose random sequence the session carries (from its last generate or
 * load_state). FAILED_PRECONDITION (and *out_seed untouched) before either. */
FATHOM_API fathom_status fathom_session_sampler_seed(const fathom_session* session,
                                                     uint64_t* out_seed);

/* Asks the evaluate or generate running now (on another thread, or the one calling a token
 * callback) to stop; it returns CANCELLED. A cancel while nothing runs has no effect. Safe from any
 * thread as long as the session is not being freed. */
FATHOM_API fathom_status fathom_session_cancel(fathom_session* session);

/* What speculative decoding did during the session's last fathom_session_generate (all zero
 * without speculation or before any). The acceptance rate at depth d is
 * accepted_at_depth[d] / drafted_at_depth[d]; tokens per forward is tokens / main_forwards. */
typedef struct fathom_speculative_stats {
  size_t struct_size;    /* sizeof(fathom_speculative_stats): set it before the call */
  int64_t main_forwards; /* verification forwards of the main model (one per step) */
  int64_t tokens;        /* tokens those forwards produced (accepted drafts + one each) */
  int64_t drafted;       /* draft tokens proposed */
  int64_t accepted;      /* draft tokens accepted */
  int64_t drafted_at_depth[FATHOM_MAX_DRAFT];  /* index d: the (d+1)-th token after the verified */
  int64_t accepted_at_depth[FATHOM_MAX_DRAFT]; /* one, proposed / accepted */
} fathom_speculative_stats;

/* Fills *out (out->struct_size must be set; a smaller, older layout gets its fields only). */
FATHOM_API fathom_status fathom_session_speculative_stats(const fathom_session* session,
                                                          fathom_speculative_stats* out);

/* ---- sampler ---- */

typedef struct fathom_sampler_params {
  size_t struct_size; /* sizeof(fathom_sampler_params); set by default_params */
  uint64_t seed;      /* same seed + same logits = same tokens */
  float temperature;  /* <= 0: greedy (argmax) */
  int32_t top_k;      /* <= 0: disabled */
  float top_p;        /* >= 1: disabled */
  uint32_t reserved;  /* 0; keeps the struct free of padding */
  /* -- added in ABI 0 revision 1 (older callers' smaller struct_size gets the defaults) -- */
  float min_p;             /* keep tokens with p >= min_p * p(best); <= 0 disables (0.05) */
  float typical_p;         /* locally typical sampling; >= 1 disables (1) */
  int32_t penalty_last_n;  /* tokens of fathom_sampler_accept's history the penalties see; 0 off,
                              -1 all (64) */
  float repeat_penalty;    /* a seen token's logit is divided by it when positive, multiplied
                              when negative; 1 disables (1) */
  float frequency_penalty; /* minus count * this for a seen token (0) */
  float presence_penalty;  /* minus this for a seen token (0) */
  const fathom_logit_bias* logit_bias; /* n_logit_bias entries, copied; NULL: none */
  size_t n_logit_bias;
  const int32_t* order; /* n_order FATHOM_SAMPLER_* stages, copied; NULL/0: the default order */
  size_t n_order;
} fathom_sampler_params;

/* Fills the first struct_size bytes of *params with the defaults (struct_size included). Pass
 * sizeof(fathom_sampler_params) as the caller was compiled, which fathom_sampler_default_params
 * does: a caller built against an older, smaller layout gets its own fields only, so the library
 * never writes or reads past the caller's struct. Only sizes of released layouts are accepted. */
FATHOM_API fathom_status fathom_sampler_params_init(fathom_sampler_params* params,
                                                    size_t struct_size);
#define fathom_sampler_default_params(params) \
  fathom_sampler_params_init((params), sizeof(*(params)))
/* params may be NULL (defaults). On failure *out_sampler is set to NULL. */
FATHOM_API fathom_status fathom_sampler_create(const fathom_sampler_params* params,
                                               fathom_sampler** out_sampler);
FATHOM_API void fathom_sampler_free(fathom_sampler* sampler);
/* Picks a token from n_vocab logits (not modified). */
FATHOM_API fathom_status fathom_sampler_sample(fathom_sampler* sampler, const float* logits,
                                               int32_t n_vocab, int32_t* out_token);
/* Restarts the sampler's random sequence from seed. */
FATHOM_API fathom_status fathom_sampler_reseed(fathom_sampler* sampler, uint64_t seed);
/* The seed the sampler's random sequence last started from (its params' seed, or the last
 * fathom_sampler_reseed's). */
FATHOM_API fathom_status fathom_sampler_seed(const fathom_sampler* sampler, uint64_t* out_seed);
/* Appends a token to the history the penalties look at (prompt and generated tokens alike);
 * sampling does not do it by itself. */
FATHOM_API fathom_status fathom_sampler_accept(fathom_sampler* sampler, int32_t token);
/* Empties that history. */
FATHOM_API fathom_status fathom_sampler_clear_history(fathom_sampler* sampler);

/* ---- logging ---- */

/* Message levels, in increasing severity. */
#define FATHOM_LOG_DEBUG 0
#define FATHOM_LOG_INFO 1
#define FATHOM_LOG_WARN 2
#define FATHOM_LOG_ERROR 3
#define FATHOM_LOG_NONE 4 /* as a level to set: nothing is logged */

/* Receives one diagnostic: a NUL-terminated line without a trailing newline, valid only during
 * the call. It may be called from any thread that calls into the library (and concurrently), so
 * it must be thread-safe; it must not call fathom_set_log_callback. */
typedef void (*fathom_log_callback)(void* user_data, int32_t level, const char* message);

/* Sends the library's diagnostics at or above the log level to `callback` (process-wide).
 * NULL restores the default: lines written to stderr as "fathom: LEVEL: message". When it
 * returns, no thread is still inside the previous callback. */
FATHOM_API void fathom_set_log_callback(fathom_log_callback callback, void* user_data);
/* The least severe level that is delivered (default FATHOM_LOG_WARN); FATHOM_LOG_NONE silences
 * the library. INVALID_ARGUMENT for a level outside DEBUG..NONE. */
FATHOM_API fathom_status fathom_set_log_level(int32_t level);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FATHOM_CAPI_FATHOM_H_ */
