/* Tests the C ABI from C (like LevelDB's c_test.c): every function of capi/fathom.h, its error
 * paths (NULL and wrong handles, NULL pointers, too-small buffers, bad parameters, a bad model
 * path), and greedy generation on the stories260K fixture against llama.cpp's tokens.
 * Without the fixture the model part is skipped (reported as SKIP), unless CI=true. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fathom.h"

static int failures = 0;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: \"%s\")\n", __FILE__, __LINE__, #cond, \
              fathom_last_error());                                                                \
      ++failures;                                                                                  \
    }                                                                                              \
  } while (0)

#define CHECK_STATUS(expr, expected)                                                               \
  do {                                                                                             \
    fathom_status got_ = (expr);                                                                   \
    if (got_ != (expected)) {                                                                      \
      fprintf(stderr, "%s:%d: %s gave %s, expected %s (last error: \"%s\")\n", __FILE__, __LINE__, \
              #expr, fathom_status_string(got_), fathom_status_string(expected),                   \
              fathom_last_error());                                                                \
      ++failures;                                                                                  \
    }                                                                                              \
  } while (0)

#define CHECK_OK(expr) CHECK_STATUS(expr, FATHOM_STATUS_OK)

/* A failed call leaves a message. */
#define CHECK_ERROR_MESSAGE() CHECK(fathom_last_error()[0] != '\0')

/* llama.cpp's greedy continuation of "Once upon a time" on stories260K.gguf: the first 8
 * output_ids of the first case of fixtures/stories260K/expected.json. */
static const int32_t kPromptIds[5] = {1, 403, 407, 261, 378};
static const int32_t kExpectedIds[8] = {432, 383, 286, 261, 376, 298, 315, 421};
static const char kExpectedText[] = ", there was a little girl";

static int AllBytesAre(const char* p, size_t n, int value) {
  size_t i;
  for (i = 0; i < n; ++i) {
    if ((unsigned char)p[i] != (unsigned char)value) return 0;
  }
  return 1;
}

/* ---- without a model ------------------------------------------------------------------------ */

static void TestVersionsAndStatus(void) {
  CHECK(fathom_abi_version() == FATHOM_ABI_VERSION);
  CHECK(fathom_version_string() != NULL && fathom_version_string()[0] != '\0');
  CHECK(strcmp(fathom_status_string(FATHOM_STATUS_OK), "OK") == 0);
  CHECK(strcmp(fathom_status_string(FATHOM_STATUS_CANCELLED), "CANCELLED") == 0);
  CHECK(strcmp(fathom_status_string(FATHOM_STATUS_INVALID_ARGUMENT), "INVALID_ARGUMENT") == 0);
  CHECK(strcmp(fathom_status_string(FATHOM_STATUS_RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED") == 0);
  CHECK(strcmp(fathom_status_string(FATHOM_STATUS_DATA_LOSS), "DATA_LOSS") == 0);
  CHECK(strcmp(fathom_status_string(FATHOM_STATUS_CONTEXT_FULL), "CONTEXT_FULL") == 0);
  CHECK(strcmp(fathom_status_string(4242), "UNRECOGNIZED") == 0);
  CHECK(fathom_last_error() != NULL);
}

static void TestFreeNull(void) {
  fathom_free(NULL);
  fathom_model_free(NULL);
  fathom_session_free(NULL);
  fathom_sampler_free(NULL);
  fathom_detokenizer_free(NULL);
}

/* ---- logging -------------------------------------------------------------------------------- */

typedef struct LogRecord {
  int calls;
  int32_t last_level;
  char last_message[512];
} LogRecord;

static void OnLog(void* user_data, int32_t level, const char* message) {
  LogRecord* record = (LogRecord*)user_data;
  ++record->calls;
  record->last_level = level;
  snprintf(record->last_message, sizeof(record->last_message), "%s", message);
  (void)fathom_model_n_vocab(NULL); /* a failing call inside the callback logs nothing */
}

static void TestLogging(void) {
  LogRecord record;
  memset(&record, 0, sizeof(record));
  CHECK_STATUS(fathom_set_log_level(-1), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_set_log_level(FATHOM_LOG_NONE + 1), FATHOM_STATUS_INVALID_ARGUMENT);
  fathom_set_log_callback(OnLog, &record);

  /* Failed calls are logged at DEBUG: not delivered at the default level (WARN). */
  CHECK(fathom_model_n_vocab(NULL) == 0);
  CHECK(record.calls == 0);
  CHECK_OK(fathom_set_log_level(FATHOM_LOG_DEBUG));
  CHECK(fathom_model_n_vocab(NULL) == 0);
  CHECK(record.calls == 1);
  CHECK(record.last_level == FATHOM_LOG_DEBUG);
  CHECK(strstr(record.last_message, "fathom_model_n_vocab") != NULL);
  CHECK_OK(fathom_set_log_level(FATHOM_LOG_NONE));
  CHECK(fathom_model_n_vocab(NULL) == 0);
  CHECK(record.calls == 1);

  fathom_set_log_callback(NULL, NULL);
  CHECK_OK(fathom_set_log_level(FATHOM_LOG_WARN));
}

static void TestDefaultParams(void) {
  fathom_model_params mp;
  fathom_session_params sp;
  fathom_generate_params gp;
  fathom_sampler_params samp;
  fathom_chat_template_params ctp;

  CHECK_STATUS(fathom_model_params_init(NULL, sizeof(fathom_model_params)),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_ERROR_MESSAGE();
  CHECK_STATUS(fathom_session_params_init(NULL, sizeof(fathom_session_params)),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_generate_params_init(NULL, sizeof(fathom_generate_params)),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_sampler_params_init(NULL, sizeof(fathom_sampler_params)),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_chat_template_params_init(NULL, sizeof(fathom_chat_template_params)),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_chat_template_params_init(&ctp, 0), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_chat_template_params_init(&ctp, sizeof(ctp) - 1),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_OK(fathom_chat_template_default_params(&ctp));
  CHECK(ctp.struct_size == sizeof(ctp) && ctp.variables_json == NULL && ctp.messages_json == NULL &&
        ctp.bos_token == NULL && ctp.eos_token == NULL && ctp.add_generation_prompt == 0 &&
        AllBytesAre((const char*)ctp.reserved, sizeof(ctp.reserved), 0));

  CHECK_OK(fathom_model_default_params(&mp));
  CHECK(fathom_last_error()[0] == '\0'); /* a successful call clears the message */
  CHECK(mp.struct_size == sizeof(mp));
  CHECK(mp.progress == NULL && mp.progress_user_data == NULL);

  CHECK_OK(fathom_session_default_params(&sp));
  CHECK(sp.struct_size == sizeof(sp));
  CHECK(sp.n_ctx == 0 && sp.n_threads == 0 && sp.n_batch == 512 && sp.mtp == 0 &&
        sp.reserved[0] == 0);

  CHECK_OK(fathom_generate_default_params(&gp));
  CHECK(gp.struct_size == sizeof(gp));
  CHECK(gp.max_tokens == 128 && gp.top_k == 40 && gp.stop_at_eog == 1);
  CHECK(gp.temperature > 0.79f && gp.temperature < 0.81f);
  CHECK(gp.top_p > 0.94f && gp.top_p < 0.96f);
  CHECK(gp.on_token == NULL && gp.user_data == NULL);
  CHECK(gp.speculative == FATHOM_SPECULATIVE_NONE && gp.n_draft == 1);

  CHECK_OK(fathom_sampler_default_params(&samp));
  CHECK(samp.struct_size == sizeof(samp));
  CHECK(samp.top_k == 40 && samp.seed == gp.seed && samp.reserved == 0);

  /* Fields added after the first release: the C++ API's defaults. */
  CHECK(sp.context_overflow == FATHOM_CONTEXT_OVERFLOW_ERROR && sp.n_keep == 0);
  CHECK(gp.min_p > 0.049f && gp.min_p < 0.051f && gp.typical_p == 1.0f);
  CHECK(gp.penalty_last_n == 64 && gp.repeat_penalty == 1.0f && gp.frequency_penalty == 0.0f &&
        gp.presence_penalty == 0.0f);
  CHECK(gp.logit_bias == NULL && gp.n_logit_bias == 0 && gp.sampler_order == NULL &&
        gp.n_sampler_order == 0);
  CHECK(gp.stop == NULL && gp.n_stop == 0 && gp.on_reasoning == NULL);
  CHECK(gp.reasoning_open_tag == NULL && gp.reasoning_close_tag == NULL);
  CHECK(gp.reasoning == FATHOM_REASONING_NONE && gp.evaluate_last == 0 && gp.reserved2[0] == 0);
  CHECK(samp.min_p == gp.min_p && samp.typical_p == 1.0f && samp.penalty_last_n == 64 &&
        samp.repeat_penalty == 1.0f && samp.logit_bias == NULL && samp.order == NULL &&
        samp.n_order == 0);
}

static void TestNullHandles(void) {
  fathom_session* session = (fathom_session*)&session; /* overwritten with NULL on failure */
  size_t n = 0;
  int32_t token = 0;
  const float* logits = NULL;
  char* text = NULL;
  float one_logit = 1.0f;

  CHECK(fathom_model_architecture(NULL) == NULL);
  CHECK_ERROR_MESSAGE();
  CHECK(fathom_model_name(NULL) == NULL);
  CHECK(fathom_model_n_params(NULL) == 0);
  CHECK(fathom_model_n_vocab(NULL) == 0);
  CHECK(fathom_model_n_ctx_train(NULL) == 0);
  CHECK(fathom_model_n_embd(NULL) == 0);
  CHECK(fathom_model_n_layer(NULL) == 0);
  CHECK(fathom_model_n_head(NULL) == 0);
  CHECK(fathom_model_n_head_kv(NULL) == 0);
  CHECK(fathom_model_kv_bytes_per_token(NULL) == 0);
  CHECK(fathom_model_chat_template(NULL) == NULL);
  CHECK(fathom_model_token_bos(NULL) == -1);
  CHECK(fathom_model_token_eos(NULL) == -1);
  CHECK(fathom_model_token_is_eog(NULL, 2) == 0);

  CHECK_STATUS(fathom_tokenize(NULL, "a", 1, 1, 0, NULL, 0, &n), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_token_to_piece(NULL, 1, NULL, 0, &n), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_token_text(NULL, 1, NULL, 0, &n), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_detokenize(NULL, &token, 1, &text, &n), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK(text == NULL);
  text = (char*)&text;
  CHECK_STATUS(fathom_detokenize_ex(NULL, &token, 1, 1, &text, &n), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK(text == NULL);
  CHECK_STATUS(fathom_detokenize_ex(NULL, &token, 1, 0, NULL, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_chat_apply_template_ex(NULL, NULL, 0, NULL, NULL, 0, &n),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_chat_apply_template_ex(NULL, NULL, 0, NULL, NULL, 0, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);

  CHECK_STATUS(fathom_session_create(NULL, NULL, &session), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK(session == NULL);
  {
    fathom_detokenizer* detokenizer = (fathom_detokenizer*)&text;
    const char* piece = "x";
    CHECK_STATUS(fathom_detokenizer_create(NULL, &detokenizer), FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK(detokenizer == NULL);
    CHECK_STATUS(fathom_detokenizer_push(NULL, 1, &piece, &n), FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK(piece == NULL);
    CHECK_STATUS(fathom_detokenizer_flush(NULL, &piece, NULL), FATHOM_STATUS_INVALID_ARGUMENT);
  }
  CHECK_STATUS(fathom_session_reset(NULL), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_session_truncate(NULL, 0), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK(fathom_session_position(NULL) == -1);
  CHECK(fathom_session_n_ctx(NULL) == -1);
  CHECK(fathom_session_n_logits(NULL) == -1);
  CHECK_STATUS(fathom_session_evaluate(NULL, &token, 1, 0), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_session_logits(NULL, -1, &logits, NULL), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK(logits == NULL);
  CHECK_STATUS(fathom_session_generate(NULL, &token, 1, NULL, NULL, 0, &n, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK(n == 0);
  CHECK_STATUS(fathom_session_cancel(NULL), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_session_evaluate_reusing_prefix(NULL, &token, 1),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_session_tokens(NULL, NULL, 0, &n), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK(fathom_session_n_evaluated(NULL) == -1);
  CHECK(fathom_session_n_shifted(NULL) == -1);
  CHECK(fathom_session_kv_cache_bytes(NULL) == -1);
  CHECK(fathom_session_memory_bytes(NULL) == -1);
  CHECK(fathom_session_n_mtp_logits(NULL) == -1);
  CHECK(fathom_session_mtp_first_position(NULL) == -1);
  CHECK_STATUS(fathom_session_mtp_logits(NULL, 0, &logits, NULL), FATHOM_STATUS_INVALID_ARGUMENT);
  {
    char state[16];
    n = 7;
    CHECK_STATUS(fathom_session_save_state(NULL, NULL, 0, &n), FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK(n == 0);
    CHECK_STATUS(fathom_session_save_state(NULL, state, sizeof(state), &n),
                 FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(fathom_session_load_state(NULL, state, sizeof(state)),
                 FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(fathom_session_load_state(NULL, NULL, 0), FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(fathom_session_save_state_file(NULL, "x.state"), FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(fathom_session_load_state_file(NULL, "x.state"), FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(fathom_session_save_state_file(NULL, NULL), FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(fathom_session_load_state_file(NULL, NULL), FATHOM_STATUS_INVALID_ARGUMENT);
  }
  {
    fathom_speculative_stats stats;
    stats.struct_size = sizeof(stats);
    CHECK_STATUS(fathom_session_speculative_stats(NULL, &stats), FATHOM_STATUS_INVALID_ARGUMENT);
  }

  CHECK_STATUS(fathom_sampler_sample(NULL, &one_logit, 1, &token), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_sampler_reseed(NULL, 1), FATHOM_STATUS_INVALID_ARGUMENT);
  {
    uint64_t seed = 7;
    CHECK_STATUS(fathom_sampler_seed(NULL, &seed), FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK(seed == 7);
    CHECK_STATUS(fathom_sampler_seed(NULL, NULL), FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(fathom_session_sampler_seed(NULL, &seed), FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(fathom_session_sampler_seed(NULL, NULL), FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK(seed == 7);
  }
  CHECK_STATUS(fathom_sampler_accept(NULL, 1), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_sampler_clear_history(NULL), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_sampler_create(NULL, NULL), FATHOM_STATUS_INVALID_ARGUMENT);
}

static void TestBadModelLoad(const char* not_a_model) {
  fathom_model* model = (fathom_model*)&model;
  fathom_model_params params;

  CHECK(fathom_model_load("/nonexistent/fathom/model.gguf", NULL, &model) != FATHOM_STATUS_OK);
  CHECK(model == NULL);
  CHECK(strstr(fathom_last_error(), "fathom_model_load") != NULL);

  CHECK_STATUS(fathom_model_load(NULL, NULL, &model), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_model_load("x.gguf", NULL, NULL), FATHOM_STATUS_INVALID_ARGUMENT);

  CHECK_STATUS(fathom_model_params_init(&params, 3), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_model_params_init(&params, sizeof(params) + 8),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_OK(fathom_model_default_params(&params));
  params.struct_size = 3;
  CHECK_STATUS(fathom_model_load("x.gguf", &params, &model), FATHOM_STATUS_INVALID_ARGUMENT);
  params.struct_size = sizeof(params) + 8; /* a newer header than this library */
  CHECK_STATUS(fathom_model_load("x.gguf", &params, &model), FATHOM_STATUS_INVALID_ARGUMENT);

  if (not_a_model != NULL) { /* a file that exists but is no GGUF */
    CHECK(fathom_model_load(not_a_model, NULL, &model) != FATHOM_STATUS_OK);
    CHECK(model == NULL);
    CHECK_ERROR_MESSAGE();
  }
}

static void TestSampler(void) {
  static const float kLogits[5] = {0.1f, 2.0f, -1.0f, 0.5f, 1.9f};
  fathom_sampler_params params;
  fathom_sampler* greedy = NULL;
  fathom_sampler* a = NULL;
  fathom_sampler* b = NULL;
  fathom_sampler* bad = (fathom_sampler*)&bad;
  int32_t token = -1, first[20], i;
  int same = 1;

  CHECK_OK(fathom_sampler_default_params(&params));
  params.temperature = 0.0f;
  CHECK_OK(fathom_sampler_create(&params, &greedy));
  CHECK(greedy != NULL);
  CHECK_OK(fathom_sampler_sample(greedy, kLogits, 5, &token));
  CHECK(token == 1);
  CHECK_STATUS(fathom_sampler_sample(greedy, NULL, 5, &token), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_sampler_sample(greedy, kLogits, 0, &token), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_sampler_sample(greedy, kLogits, 5, NULL), FATHOM_STATUS_INVALID_ARGUMENT);

  /* Same seed, same logits: same tokens; reseeding restarts the sequence. */
  params.temperature = 1.5f;
  params.top_k = 0;
  params.top_p = 1.0f;
  params.seed = 1234;
  CHECK_OK(fathom_sampler_create(&params, &a));
  CHECK_OK(fathom_sampler_create(&params, &b));
  for (i = 0; i < 20; ++i) {
    int32_t ta = -1, tb = -2;
    CHECK_OK(fathom_sampler_sample(a, kLogits, 5, &ta));
    CHECK_OK(fathom_sampler_sample(b, kLogits, 5, &tb));
    CHECK(ta == tb && ta >= 0 && ta < 5);
    first[i] = ta;
  }
  {
    uint64_t seed = 0;
    CHECK_OK(fathom_sampler_seed(a, &seed));
    CHECK(seed == 1234);
    CHECK_OK(fathom_sampler_reseed(b, 99));
    CHECK_OK(fathom_sampler_seed(b, &seed));
    CHECK(seed == 99);
    CHECK_STATUS(fathom_sampler_seed(a, NULL), FATHOM_STATUS_INVALID_ARGUMENT);
    {
      fathom_sampler_params defaults;
      CHECK_OK(fathom_sampler_default_params(&defaults));
      CHECK_OK(fathom_sampler_seed(greedy, &seed)); /* created with the default seed */
      CHECK(seed == defaults.seed);
    }
  }
  CHECK_OK(fathom_sampler_reseed(a, 1234));
  for (i = 0; i < 20; ++i) {
    CHECK_OK(fathom_sampler_sample(a, kLogits, 5, &token));
    same = same && token == first[i];
  }
  CHECK(same);

  /* Bad parameters. */
  params.struct_size = 0;
  CHECK_STATUS(fathom_sampler_create(&params, &bad), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK(bad == NULL);
  CHECK_OK(fathom_sampler_default_params(&params));
  params.reserved = 1;
  CHECK_STATUS(fathom_sampler_create(&params, &bad), FATHOM_STATUS_INVALID_ARGUMENT);

  /* The rest of the chain: penalties over the accepted history, logit bias, order. */
  {
    static const fathom_logit_bias kBias[2] = {{2, 10.0f}, {40, 1.0f}}; /* 40: not a column */
    static const int32_t kOrder[2] = {FATHOM_SAMPLER_TOP_K, FATHOM_SAMPLER_PENALTIES};
    int32_t bad_order[1] = {FATHOM_SAMPLER_TEMPERATURE + 1};
    fathom_logit_bias nan_bias;
    fathom_sampler* chain = NULL;
    CHECK_OK(fathom_sampler_default_params(&params));
    params.temperature = 0.0f;
    params.repeat_penalty = 4.0f;
    CHECK_OK(fathom_sampler_create(&params, &chain));
    CHECK_OK(fathom_sampler_sample(chain, kLogits, 5, &token));
    CHECK(token == 1);
    CHECK_OK(fathom_sampler_accept(chain, 1)); /* 2.0 / 4 = 0.5: token 4 (1.9) wins */
    CHECK_OK(fathom_sampler_sample(chain, kLogits, 5, &token));
    CHECK(token == 4);
    CHECK_STATUS(fathom_sampler_accept(chain, -1), FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK_OK(fathom_sampler_clear_history(chain));
    CHECK_OK(fathom_sampler_sample(chain, kLogits, 5, &token));
    CHECK(token == 1);
    fathom_sampler_free(chain);
    chain = NULL;

    params.repeat_penalty = 1.0f;
    params.logit_bias = kBias;
    params.n_logit_bias = 2;
    params.order = kOrder;
    params.n_order = 2;
    CHECK_OK(fathom_sampler_create(&params, &chain));
    CHECK_OK(fathom_sampler_sample(chain, kLogits, 5, &token));
    CHECK(token == 2);
    fathom_sampler_free(chain);
    chain = (fathom_sampler*)&chain;

    params.n_logit_bias = 3;
    params.logit_bias = NULL;
    CHECK_STATUS(fathom_sampler_create(&params, &chain), FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK(chain == NULL);
    nan_bias.token = 1;
    nan_bias.bias = NAN;
    params.logit_bias = &nan_bias;
    params.n_logit_bias = 1;
    CHECK_STATUS(fathom_sampler_create(&params, &chain), FATHOM_STATUS_INVALID_ARGUMENT);
    params.n_logit_bias = 0;
    params.order = NULL;
    CHECK_STATUS(fathom_sampler_create(&params, &chain), FATHOM_STATUS_INVALID_ARGUMENT);
    params.order = bad_order;
    params.n_order = 1;
    CHECK_STATUS(fathom_sampler_create(&params, &chain), FATHOM_STATUS_INVALID_ARGUMENT);
    params.n_order = 0;
    params.penalty_last_n = -2;
    CHECK_STATUS(fathom_sampler_create(&params, &chain), FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK(chain == NULL);

    /* A caller built against the first layout (struct_size 32, no chain fields): whatever lies
     * after it is not read, and the missing fields take their defaults. */
    memset(&params, 0xff, sizeof(params));
    CHECK_OK(fathom_sampler_params_init(&params, 32));
    CHECK(params.struct_size == 32 && params.top_k == 40 && params.reserved == 0);
    CHECK(AllBytesAre((const char*)&params + 32, sizeof(params) - 32, 0xff)); /* not written */
    params.temperature = 0.0f;
    CHECK_OK(fathom_sampler_create(&params, &chain));
    CHECK_OK(fathom_sampler_accept(chain, 1)); /* repeat_penalty defaults to 1: no effect */
    CHECK_OK(fathom_sampler_sample(chain, kLogits, 5, &token));
    CHECK(token == 1);
    fathom_sampler_free(chain);
  }

  /* Default parameters. */
  CHECK_OK(fathom_sampler_create(NULL, &bad));
  CHECK_OK(fathom_sampler_sample(bad, kLogits, 5, &token));
  CHECK(token >= 0 && token < 5);

  fathom_sampler_free(bad);
  fathom_sampler_free(b);
  fathom_sampler_free(a);
  fathom_sampler_free(greedy);
}

/* ---- with stories260K ------------------------------------------------------------------------ */

typedef struct {
  int calls;
  float last;
  int monotonic;
  int cancel;
} Progress;

static int32_t OnProgress(void* user_data, float progress) {
  Progress* p = (Progress*)user_data;
  if (p->calls > 0 && progress < p->last) p->monotonic = 0;
  p->last = progress;
  ++p->calls;
  return p->cancel;
}

static fathom_model* TestModelLoad(const char* path) {
  fathom_model_params params;
  fathom_model* model = (fathom_model*)&model;
  Progress progress = {0, 0.0f, 1, 1};

  CHECK_OK(fathom_model_default_params(&params));
  params.progress = OnProgress;
  params.progress_user_data = &progress;
  CHECK_STATUS(fathom_model_load(path, &params, &model), FATHOM_STATUS_CANCELLED);
  CHECK(model == NULL);
  CHECK(progress.calls == 1);

  progress.calls = 0;
  progress.cancel = 0;
  CHECK_OK(fathom_model_load(path, &params, &model));
  CHECK(model != NULL);
  CHECK(progress.calls >= 2 && progress.monotonic && progress.last == 1.0f);
  return model;
}

static void TestMetadata(const fathom_model* model) {
  CHECK(fathom_model_architecture(model) != NULL &&
        strcmp(fathom_model_architecture(model), "llama") == 0);
  CHECK(fathom_model_name(model) != NULL);
  CHECK(fathom_model_chat_template(model) != NULL && fathom_model_chat_template(model)[0] == '\0');
  CHECK(fathom_model_n_params(model) > 200000 && fathom_model_n_params(model) < 400000);
  CHECK(fathom_model_n_vocab(model) == 512);
  CHECK(fathom_model_n_ctx_train(model) == 128);
  CHECK(fathom_model_n_embd(model) == 64);
  CHECK(fathom_model_n_layer(model) == 5);
  CHECK(fathom_model_n_head(model) == 8);
  CHECK(fathom_model_n_head_kv(model) == 4);
  /* K and V: 5 layers x 4 KV heads x 8 dimensions, at 2 or 4 bytes each. */
  CHECK(fathom_model_kv_bytes_per_token(model) == 2 * 5 * 4 * 8 * 2 ||
        fathom_model_kv_bytes_per_token(model) == 2 * 5 * 4 * 8 * 4);
  CHECK(fathom_model_token_bos(model) == 1);
  CHECK(fathom_model_token_eos(model) == 2);
  CHECK(fathom_model_token_is_eog(model, 2) == 1);
  CHECK(fathom_model_token_is_eog(model, 403) == 0);
}

static void TestTokenizer(const fathom_model* model) {
  static const char kText[] = "Once upon a time";
  int32_t ids[16];
  size_t n = 0, len = 0;
  char piece[16];
  char* text = NULL;

  /* Two-phase: size, too small, enough. */
  CHECK_OK(fathom_tokenize(model, kText, strlen(kText), 1, 0, NULL, 0, &n));
  CHECK(n == 5);
  n = 0;
  CHECK_STATUS(fathom_tokenize(model, kText, strlen(kText), 1, 0, ids, 2, &n),
               FATHOM_STATUS_RESOURCE_EXHAUSTED);
  CHECK(n == 5);
  CHECK_OK(fathom_tokenize(model, kText, strlen(kText), 1, 0, ids, 16, &n));
  CHECK(n == 5 && memcmp(ids, kPromptIds, sizeof(kPromptIds)) == 0);
  CHECK_OK(fathom_tokenize(model, kText, strlen(kText), 0, 0, ids, 16, &n));
  CHECK(n == 4 && ids[0] == kPromptIds[1]);
  CHECK_OK(fathom_tokenize(model, "", 0, 1, 0, ids, 16, &n));
  CHECK(n == 1 && ids[0] == 1);
  CHECK_OK(fathom_tokenize(model, NULL, 0, 1, 0, ids, 16, &n));
  CHECK(n == 1);
  CHECK_STATUS(fathom_tokenize(model, NULL, 3, 1, 0, ids, 16, &n), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_tokenize(model, kText, 4, 1, 0, ids, 16, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);

  /* Pieces: two-phase with the NUL counted in the buffer, not in the length. */
  CHECK_OK(fathom_token_to_piece(model, 403, NULL, 0, &len));
  CHECK(len == 5);
  CHECK_STATUS(fathom_token_to_piece(model, 403, piece, len, &len),
               FATHOM_STATUS_RESOURCE_EXHAUSTED);
  CHECK_OK(fathom_token_to_piece(model, 403, piece, sizeof(piece), &len));
  CHECK(len == 5 && strcmp(piece, " Once") == 0);
  CHECK_OK(fathom_token_to_piece(model, 1, piece, sizeof(piece), &len)); /* control: "" */
  CHECK(len == 0 && piece[0] == '\0');
  CHECK(fathom_token_to_piece(model, 512, piece, sizeof(piece), &len) != FATHOM_STATUS_OK);
  CHECK_ERROR_MESSAGE();
  CHECK(fathom_token_to_piece(model, -1, piece, sizeof(piece), &len) != FATHOM_STATUS_OK);
  CHECK_STATUS(fathom_token_to_piece(model, 403, piece, sizeof(piece), NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);

  /* Stored token text: special tokens have one although their piece is "". */
  CHECK_OK(fathom_token_text(model, 1, NULL, 0, &len));
  CHECK(len == 3);
  CHECK_STATUS(fathom_token_text(model, 1, piece, 3, &len), FATHOM_STATUS_RESOURCE_EXHAUSTED);
  CHECK_STATUS(fathom_token_text(model, 1, piece, 0, &len), FATHOM_STATUS_RESOURCE_EXHAUSTED);
  CHECK_OK(fathom_token_text(model, 1, piece, sizeof(piece), &len));
  CHECK(strcmp(piece, "<s>") == 0);
  CHECK_OK(fathom_token_text(model, 403, piece, sizeof(piece), &len));
  CHECK(len > 0);
  CHECK_OK(fathom_token_text(model, 99999, piece, sizeof(piece), &len));
  CHECK(len == 0 && piece[0] == '\0');
  CHECK_STATUS(fathom_token_text(model, 1, piece, sizeof(piece), NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);

  /* Detokenize: library-allocated, freed with fathom_free. */
  CHECK_OK(fathom_detokenize(model, kExpectedIds, 8, &text, &len));
  CHECK(text != NULL && len == strlen(kExpectedText) && strcmp(text, kExpectedText) == 0);
  fathom_free(text);
  CHECK_OK(fathom_detokenize(model, NULL, 0, &text, NULL));
  CHECK(text != NULL && text[0] == '\0');
  fathom_free(text);
  CHECK_STATUS(fathom_detokenize(model, NULL, 2, &text, &len), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_detokenize(model, kExpectedIds, 8, NULL, &len),
               FATHOM_STATUS_INVALID_ARGUMENT);

  /* Decoding as the tokenizer's library does; skip_special drops BOS/EOS. */
  {
    static const int32_t kWithSpecial[4] = {1, 403, 407, 2}; /* <s> Once upon </s> */
    char* kept = NULL;
    char* skipped = NULL;
    size_t kept_len = 0, skipped_len = 0;
    CHECK_OK(fathom_detokenize_ex(model, kExpectedIds, 8, 1, &text, &len));
    CHECK(text != NULL && len == strlen(kExpectedText) && strcmp(text, kExpectedText) == 0);
    fathom_free(text);
    CHECK_OK(fathom_detokenize_ex(model, kWithSpecial, 4, 0, &kept, &kept_len));
    CHECK_OK(fathom_detokenize_ex(model, kWithSpecial, 4, 1, &skipped, &skipped_len));
    CHECK(kept != NULL && skipped != NULL);
    if (kept != NULL && skipped != NULL) {
      /* A GGUF vocabulary's control tokens have no piece: both spell the words alone. */
      CHECK(strcmp(skipped, " Once upon") == 0 && strcmp(kept, " Once upon") == 0);
      CHECK(skipped_len == strlen(skipped) && kept_len == strlen(kept));
    }
    fathom_free(kept);
    fathom_free(skipped);
    CHECK_OK(fathom_detokenize_ex(model, NULL, 0, 1, &text, NULL));
    CHECK(text != NULL && text[0] == '\0');
    fathom_free(text);
    CHECK_STATUS(fathom_detokenize_ex(model, NULL, 2, 0, &text, &len),
                 FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK(text == NULL);
    CHECK_STATUS(fathom_detokenize_ex(model, kExpectedIds, 8, 0, NULL, &len),
                 FATHOM_STATUS_INVALID_ARGUMENT);
    text = NULL;
  }
}

/* Streaming detokenization: the pieces of the expected tokens add up to the expected text. */
static void TestChatTemplate(const fathom_model* model) {
  fathom_chat_message messages[2];
  size_t len = 0, len2 = 0;
  char small[4];
  char* buf;
  messages[0].role = "system";
  messages[0].content = "Be brief.";
  messages[1].role = "user";
  messages[1].content = "Hello";
  CHECK_STATUS(fathom_chat_apply_template(NULL, messages, 2, 1, NULL, 0, &len),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_chat_apply_template(model, messages, 2, 1, NULL, 0, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_chat_apply_template(model, NULL, 2, 1, NULL, 0, &len),
               FATHOM_STATUS_INVALID_ARGUMENT);
  messages[1].content = NULL;
  CHECK_STATUS(fathom_chat_apply_template(model, messages, 2, 1, NULL, 0, &len),
               FATHOM_STATUS_INVALID_ARGUMENT);
  messages[1].content = "Hello";
  {
    fathom_chat_template_params params;
    CHECK_OK(fathom_chat_template_default_params(&params));
    CHECK_STATUS(fathom_chat_apply_template_ex(NULL, messages, 2, &params, NULL, 0, &len),
                 FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(fathom_chat_apply_template_ex((const fathom_model*)(void*)&params, messages, 2,
                                               &params, NULL, 0, &len),
                 FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(fathom_chat_apply_template_ex(model, messages, 2, &params, NULL, 0, NULL),
                 FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(fathom_chat_apply_template_ex(model, NULL, 2, &params, NULL, 0, &len),
                 FATHOM_STATUS_INVALID_ARGUMENT);
    params.variables_json = "{\"enable_thinking\": fals";
    CHECK_STATUS(fathom_chat_apply_template_ex(model, messages, 2, &params, NULL, 0, &len),
                 FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(fathom_last_error(), "variables_json") != NULL);
    params.variables_json = "[false]";
    CHECK_STATUS(fathom_chat_apply_template_ex(model, messages, 2, &params, NULL, 0, &len),
                 FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(fathom_last_error(), "not a JSON object") != NULL);
    params.variables_json = NULL;
    params.messages_json = "{\"role\": \"user\"}";
    CHECK_STATUS(fathom_chat_apply_template_ex(model, NULL, 0, &params, NULL, 0, &len),
                 FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(fathom_last_error(), "messages_json") != NULL);
    params.messages_json = NULL;
    params.reserved[3] = 1;
    CHECK_STATUS(fathom_chat_apply_template_ex(model, messages, 2, &params, NULL, 0, &len),
                 FATHOM_STATUS_INVALID_ARGUMENT);
    params.reserved[3] = 0;
    params.struct_size = 3;
    CHECK_STATUS(fathom_chat_apply_template_ex(model, messages, 2, &params, NULL, 0, &len),
                 FATHOM_STATUS_INVALID_ARGUMENT);
    if (fathom_model_chat_template(model)[0] == '\0') {
      CHECK_STATUS(fathom_chat_apply_template_ex(model, messages, 2, NULL, NULL, 0, &len),
                   FATHOM_STATUS_FAILED_PRECONDITION);
    }
  }
  if (fathom_model_chat_template(model)[0] == '\0') {
    CHECK_STATUS(fathom_chat_apply_template(model, messages, 2, 1, NULL, 0, &len),
                 FATHOM_STATUS_FAILED_PRECONDITION);
    return;
  }
  CHECK_OK(fathom_chat_apply_template(model, messages, 2, 1, NULL, 0, &len));
  CHECK(len > 0);
  if (len + 1 > sizeof(small)) {
    CHECK_STATUS(fathom_chat_apply_template(model, messages, 2, 1, small, sizeof(small), &len2),
                 FATHOM_STATUS_RESOURCE_EXHAUSTED);
    CHECK(len2 == len);
  }
  buf = (char*)malloc(len + 1);
  CHECK(buf != NULL);
  if (buf == NULL) return;
  CHECK_OK(fathom_chat_apply_template(model, messages, 2, 1, buf, len + 1, &len2));
  CHECK(len2 == len && strlen(buf) == len);
  CHECK(strstr(buf, "Hello") != NULL);
  free(buf);
}

static void TestDetokenizer(const fathom_model* model) {
  fathom_detokenizer* detokenizer = NULL;
  const char* piece = NULL;
  size_t len = 0, i;
  char text[256] = "";
  CHECK_STATUS(fathom_detokenizer_create(model, NULL), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_OK(fathom_detokenizer_create(model, &detokenizer));
  if (detokenizer == NULL) return;
  CHECK_STATUS(fathom_detokenizer_push(detokenizer, 1, NULL, &len), FATHOM_STATUS_INVALID_ARGUMENT);
  for (i = 0; i < sizeof(kExpectedIds) / sizeof(kExpectedIds[0]); ++i) {
    CHECK_OK(fathom_detokenizer_push(detokenizer, kExpectedIds[i], &piece, &len));
    CHECK(piece != NULL && strlen(piece) == len);
    if (piece != NULL) strncat(text, piece, sizeof(text) - strlen(text) - 1);
  }
  CHECK_OK(fathom_detokenizer_flush(detokenizer, &piece, &len));
  CHECK(piece != NULL && len == 0);
  CHECK(strcmp(text, kExpectedText) == 0);
  CHECK_STATUS(fathom_detokenizer_push(detokenizer, 1 << 30, &piece, &len),
               FATHOM_STATUS_INVALID_ARGUMENT);
  /* Another kind of handle is refused; freeing through the wrong function frees nothing. */
  CHECK_STATUS(fathom_detokenizer_push((fathom_detokenizer*)(void*)model, 1, &piece, &len),
               FATHOM_STATUS_INVALID_ARGUMENT);
  fathom_model_free((fathom_model*)(void*)detokenizer);
  CHECK_OK(fathom_detokenizer_push(detokenizer, kExpectedIds[0], &piece, NULL));
  CHECK(piece != NULL && strcmp(piece, ",") == 0);
  fathom_detokenizer_free(detokenizer);
}

static int ArgMax(const float* logits, int32_t n) {
  int best = 0, i;
  for (i = 1; i < n; ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return best;
}

static void TestSessionEvaluate(const fathom_model* model) {
  fathom_session_params params;
  fathom_session* session = NULL;
  fathom_session* small = NULL;
  const float* logits = NULL;
  const float* last = NULL;
  int32_t n_vocab = 0, bad_token = 9999;
  int32_t nine[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

  CHECK_OK(fathom_session_create(model, NULL, &session));
  CHECK(session != NULL);
  CHECK(fathom_session_n_ctx(session) == 128); /* min(training context, 4096) */
  CHECK(fathom_session_position(session) == 0);
  CHECK(fathom_session_n_logits(session) == 0);
  CHECK_STATUS(fathom_session_logits(session, -1, &logits, &n_vocab),
               FATHOM_STATUS_FAILED_PRECONDITION);

  CHECK_OK(fathom_session_evaluate(session, kPromptIds, 5, 1));
  CHECK(fathom_session_position(session) == 5);
  CHECK(fathom_session_n_logits(session) == 5);
  CHECK_OK(fathom_session_logits(session, -1, &last, &n_vocab));
  CHECK(last != NULL && n_vocab == 512);
  CHECK(ArgMax(last, n_vocab) == kExpectedIds[0]);
  CHECK_OK(fathom_session_logits(session, 4, &logits, NULL));
  CHECK(logits == last);
  CHECK_OK(fathom_session_logits(session, 0, &logits, NULL));
  CHECK(logits != last);
  CHECK_STATUS(fathom_session_logits(session, 5, &logits, NULL), FATHOM_STATUS_OUT_OF_RANGE);
  CHECK_STATUS(fathom_session_logits(session, -2, &logits, NULL), FATHOM_STATUS_OUT_OF_RANGE);
  CHECK_STATUS(fathom_session_logits(session, -1, NULL, NULL), FATHOM_STATUS_INVALID_ARGUMENT);

  CHECK_STATUS(fathom_session_evaluate(session, NULL, 3, 0), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK(fathom_session_evaluate(session, &bad_token, 1, 0) != FATHOM_STATUS_OK);
  CHECK_ERROR_MESSAGE();

  /* Truncate and reset. */
  CHECK_STATUS(fathom_session_truncate(session, 6), FATHOM_STATUS_OUT_OF_RANGE);
  CHECK_STATUS(fathom_session_truncate(session, -1), FATHOM_STATUS_OUT_OF_RANGE);
  CHECK_OK(fathom_session_truncate(session, 3));
  CHECK(fathom_session_position(session) == 3);
  CHECK_OK(fathom_session_evaluate(session, kPromptIds + 3, 2, 0));
  CHECK(fathom_session_position(session) == 5 && fathom_session_n_logits(session) == 1);
  CHECK_OK(fathom_session_logits(session, -1, &logits, &n_vocab));
  CHECK(ArgMax(logits, n_vocab) == kExpectedIds[0]);
  CHECK_OK(fathom_session_reset(session));
  CHECK(fathom_session_position(session) == 0);
  CHECK_OK(fathom_session_cancel(session)); /* nothing runs: no effect */
  CHECK_OK(fathom_session_evaluate(session, kPromptIds, 5, 0));
  CHECK(fathom_session_position(session) == 5);

  /* Bad parameters; a full context. */
  CHECK_OK(fathom_session_default_params(&params));
  params.n_ctx = -1;
  CHECK_STATUS(fathom_session_create(model, &params, &small), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK(small == NULL);
  params.n_ctx = 8;
  params.reserved[0] = 1;
  CHECK_STATUS(fathom_session_create(model, &params, &small), FATHOM_STATUS_INVALID_ARGUMENT);
  params.reserved[0] = 0;
  params.mtp = 1; /* stories260K has no MTP module */
  CHECK_STATUS(fathom_session_create(model, &params, &small), FATHOM_STATUS_FAILED_PRECONDITION);
  params.mtp = 0;
  params.struct_size = sizeof(params) - 1;
  CHECK_STATUS(fathom_session_create(model, &params, &small), FATHOM_STATUS_INVALID_ARGUMENT);
  params.struct_size = sizeof(params);
  CHECK_STATUS(fathom_session_create(model, &params, NULL), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_OK(fathom_session_create(model, &params, &small));
  CHECK(fathom_session_n_ctx(small) == 8);
  CHECK_STATUS(fathom_session_evaluate(small, nine, 9, 0), FATHOM_STATUS_CONTEXT_FULL);

  fathom_session_free(small);
  fathom_session_free(session);
}

typedef struct TokenSink {
  fathom_session* session;
  int calls;
  int stop_after;   /* return non-zero at this call (0: never) */
  int cancel_after; /* call fathom_session_cancel at this call (0: never) */
  int32_t tokens[64];
  char text[512];
  size_t text_len;
  struct TokenSink* reasoning; /* OnReasoning appends to this sink's text */
} TokenSink;

/* Reasoning text: appended to sink->reasoning's text (calls not counted as tokens). */
static int32_t OnReasoning(void* user_data, int32_t token, const char* piece, size_t piece_len) {
  TokenSink* sink = ((TokenSink*)user_data)->reasoning;
  (void)token;
  if (sink == NULL || piece == NULL || piece[piece_len] != '\0' || piece_len == 0) return 1;
  if (sink->text_len + piece_len < sizeof(sink->text)) {
    memcpy(sink->text + sink->text_len, piece, piece_len + 1);
    sink->text_len += piece_len;
  }
  return 0;
}

static int32_t OnReasoning(void* user_data, int32_t token, const char* piece, size_t piece_len);

static int32_t OnToken(void* user_data, int32_t token, const char* piece, size_t piece_len) {
  TokenSink* sink = (TokenSink*)user_data;
  if (token >= 0 && sink->calls < 64) sink->tokens[sink->calls++] = token;
  if (piece == NULL || piece[piece_len] != '\0') return 1; /* NUL-terminated, never NULL */
  if (sink->text_len + piece_len < sizeof(sink->text)) {
    memcpy(sink->text + sink->text_len, piece, piece_len + 1);
    sink->text_len += piece_len;
  }
  if (sink->cancel_after > 0 && sink->calls == sink->cancel_after) {
    if (fathom_session_cancel(sink->session) != FATHOM_STATUS_OK) return 1;
  }
  return sink->stop_after > 0 && sink->calls == sink->stop_after;
}

static void TestGenerate(const fathom_model* model) {
  fathom_session* session = NULL;
  fathom_generate_params params;
  TokenSink sink;
  int32_t out[8], again[8];
  size_t n = 0;
  int32_t stop = -1;

  CHECK_OK(fathom_session_create(model, NULL, &session));
  CHECK_OK(fathom_generate_default_params(&params));
  {
    uint64_t seed = 7;
    CHECK_STATUS(fathom_session_sampler_seed(session, &seed), FATHOM_STATUS_FAILED_PRECONDITION);
    CHECK(seed == 7); /* no generate yet */
    CHECK_STATUS(fathom_session_sampler_seed(session, NULL), FATHOM_STATUS_INVALID_ARGUMENT);
  }

  /* Greedy: llama.cpp's tokens, streamed through the callback as well. */
  memset(&sink, 0, sizeof(sink));
  sink.session = session;
  params.temperature = 0.0f;
  params.max_tokens = 8;
  params.on_token = OnToken;
  params.user_data = &sink;
  params.seed = 4242;
  CHECK_OK(fathom_session_generate(session, kPromptIds, 5, &params, out, 8, &n, &stop));
  CHECK(n == 8 && memcmp(out, kExpectedIds, sizeof(kExpectedIds)) == 0);
  CHECK(stop == FATHOM_STOP_MAX_TOKENS);
  CHECK(sink.calls == 8 && memcmp(sink.tokens, kExpectedIds, sizeof(kExpectedIds)) == 0);
  {
    uint64_t seed = 0;
    CHECK_OK(fathom_session_sampler_seed(session, &seed));
    CHECK(seed == 4242);
  }
  CHECK(strcmp(sink.text, kExpectedText) == 0);
  CHECK(fathom_session_position(session) == 5 + 7); /* the last token is not evaluated */

  /* Without output buffer or callback; the last token continues the generation. */
  CHECK_OK(fathom_session_reset(session));
  params.on_token = NULL;
  params.max_tokens = 4;
  CHECK_OK(fathom_session_generate(session, kPromptIds, 5, &params, NULL, 0, &n, NULL));
  CHECK(n == 4);
  CHECK_OK(fathom_session_generate(session, kExpectedIds + 3, 1, &params, out, 8, &n, NULL));
  CHECK(n == 4 && memcmp(out, kExpectedIds + 4, 4 * sizeof(int32_t)) == 0);

  /* The callback stops the generation: OK, stop reason CALLBACK. */
  CHECK_OK(fathom_session_reset(session));
  memset(&sink, 0, sizeof(sink));
  sink.session = session;
  sink.stop_after = 3;
  params.on_token = OnToken;
  params.max_tokens = 8;
  CHECK_OK(fathom_session_generate(session, kPromptIds, 5, &params, out, 8, &n, &stop));
  CHECK(n == 3 && stop == FATHOM_STOP_CALLBACK);
  CHECK(sink.calls == 3 && memcmp(out, kExpectedIds, 3 * sizeof(int32_t)) == 0);

  /* fathom_session_cancel (here from the callback): CANCELLED with the tokens so far. */
  CHECK_OK(fathom_session_reset(session));
  memset(&sink, 0, sizeof(sink));
  sink.session = session;
  sink.cancel_after = 3;
  CHECK_STATUS(fathom_session_generate(session, kPromptIds, 5, &params, out, 8, &n, &stop),
               FATHOM_STATUS_CANCELLED);
  CHECK(stop == FATHOM_STOP_CANCELLED);
  CHECK(n == 3 && memcmp(out, kExpectedIds, 3 * sizeof(int32_t)) == 0);

  /* Sampling with a seed is reproducible: a new session with the same seed samples the same
   * tokens (a session keeps its RNG across calls with the same seed, see docs/C_API.md). */
  params.on_token = NULL;
  params.temperature = 1.0f;
  params.seed = 7;
  CHECK_OK(fathom_session_reset(session));
  CHECK_OK(fathom_session_generate(session, kPromptIds, 5, &params, out, 8, &n, NULL));
  CHECK(n == 8);
  {
    fathom_session* fresh = NULL;
    CHECK_OK(fathom_session_create(model, NULL, &fresh));
    CHECK_OK(fathom_session_generate(fresh, kPromptIds, 5, &params, again, 8, &n, NULL));
    CHECK(n == 8 && memcmp(out, again, sizeof(out)) == 0);
    fathom_session_free(fresh);
  }

  /* Bad arguments are rejected before anything runs. */
  CHECK_OK(fathom_session_reset(session));
  CHECK_STATUS(fathom_session_generate(session, kPromptIds, 5, &params, out, 7, &n, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_session_generate(session, NULL, 5, &params, out, 8, &n, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);
  params.max_tokens = -1;
  CHECK_STATUS(fathom_session_generate(session, kPromptIds, 5, &params, NULL, 0, &n, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);
  params.max_tokens = 8;
  params.reserved[0] = 1;
  CHECK_STATUS(fathom_session_generate(session, kPromptIds, 5, &params, NULL, 0, &n, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);
  params.reserved[0] = 0;
  params.struct_size = 8;
  CHECK_STATUS(fathom_session_generate(session, kPromptIds, 5, &params, NULL, 0, &n, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK(fathom_session_position(session) == 0);

  fathom_session_free(session);
}

/* Sampler chain, stop strings, reasoning, evaluate_last and an old struct_size through generate. */
static void TestGenerateOptions(const fathom_model* model) {
  static const char* const kStops[2] = {"never appears", " little"};
  fathom_session* session = NULL;
  fathom_generate_params params;
  TokenSink sink, thoughts;
  int32_t out[8];
  size_t n = 0;
  int32_t stop = -1;
  fathom_logit_bias ban;
  int32_t order[2] = {FATHOM_SAMPLER_TEMPERATURE, FATHOM_SAMPLER_TOP_K};

  CHECK_OK(fathom_session_create(model, NULL, &session));
  if (session == NULL) return;
  CHECK_OK(fathom_generate_default_params(&params));
  params.temperature = 0.0f;
  params.max_tokens = 8;

  /* Stop strings: the text before it, nothing of it or after it. */
  memset(&sink, 0, sizeof(sink));
  params.on_token = OnToken;
  params.user_data = &sink;
  params.stop = kStops;
  params.n_stop = 2;
  CHECK_OK(fathom_session_generate(session, kPromptIds, 5, &params, out, 8, &n, &stop));
  CHECK(stop == FATHOM_STOP_STRING);
  CHECK(strcmp(sink.text, ", there was a") == 0);
  CHECK(n >= 4 && n < 8 && memcmp(out, kExpectedIds, n * sizeof(int32_t)) == 0);
  params.n_stop = 3;
  params.stop = NULL;
  CHECK_STATUS(fathom_session_generate(session, kPromptIds, 5, &params, out, 8, &n, &stop),
               FATHOM_STATUS_INVALID_ARGUMENT);
  params.n_stop = 0;

  /* Logit bias: banning the greedy first token changes it; an id outside the vocabulary. */
  CHECK_OK(fathom_session_reset(session));
  ban.token = kExpectedIds[0];
  ban.bias = -INFINITY;
  params.logit_bias = &ban;
  params.n_logit_bias = 1;
  params.on_token = NULL;
  CHECK_OK(fathom_session_generate(session, kPromptIds, 5, &params, out, 8, &n, NULL));
  CHECK(n == 8 && out[0] != kExpectedIds[0]);
  CHECK_OK(fathom_session_reset(session));
  ban.token = 512;
  CHECK_STATUS(fathom_session_generate(session, kPromptIds, 5, &params, out, 8, &n, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);
  params.n_logit_bias = 0;
  params.logit_bias = NULL;

  /* A sampler order and penalties are accepted; greedy stays greedy without penalties. */
  params.sampler_order = order;
  params.n_sampler_order = 2;
  CHECK_OK(fathom_session_generate(session, kPromptIds, 5, &params, out, 8, &n, NULL));
  CHECK(n == 8 && memcmp(out, kExpectedIds, sizeof(kExpectedIds)) == 0);
  order[0] = 17;
  CHECK_OK(fathom_session_reset(session));
  CHECK_STATUS(fathom_session_generate(session, kPromptIds, 5, &params, out, 8, &n, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);
  params.sampler_order = NULL;
  params.n_sampler_order = 0;
  params.presence_penalty = 100.0f;
  params.penalty_last_n = -1;
  CHECK_OK(fathom_session_generate(session, kPromptIds, 5, &params, out, 8, &n, NULL));
  CHECK(n == 8); /* "a" (261) is in the prompt: the penalty changes the 4th token */
  CHECK(out[3] != kExpectedIds[3]);
  params.presence_penalty = 0.0f;
  params.penalty_last_n = 64;

  /* Reasoning between two tags (here words of the story, to exercise Generate's path with text
   * this model writes): thoughts to on_reasoning, the answer to on_token, once per token. */
  CHECK_OK(fathom_session_reset(session));
  memset(&sink, 0, sizeof(sink));
  memset(&thoughts, 0, sizeof(thoughts));
  params.on_token = OnToken;
  params.user_data = &sink;
  params.reasoning = FATHOM_REASONING_SPLIT;
  params.reasoning_open_tag = "there";
  params.reasoning_close_tag = "little";
  params.on_reasoning = OnReasoning;
  sink.reasoning = &thoughts;
  CHECK_OK(fathom_session_generate(session, kPromptIds, 5, &params, out, 8, &n, &stop));
  CHECK(n == 8 && stop == FATHOM_STOP_MAX_TOKENS);
  CHECK(strcmp(sink.text, ",  girl") == 0);
  CHECK(strcmp(thoughts.text, " was a ") == 0);
  CHECK(sink.calls == 8);
  /* The default tags: a prompt that ends with "<think>\n" makes everything reasoning. */
  {
    static const char kThinkPrompt[] = "Once upon a time<think>\n";
    int32_t ids[64];
    size_t n_ids = 0;
    CHECK_OK(fathom_tokenize(model, kThinkPrompt, strlen(kThinkPrompt), 1, 0, ids, 64, &n_ids));
    CHECK_OK(fathom_session_reset(session));
    memset(&sink, 0, sizeof(sink));
    memset(&thoughts, 0, sizeof(thoughts));
    sink.reasoning = &thoughts;
    params.reasoning_open_tag = NULL;
    params.reasoning_close_tag = NULL;
    CHECK_OK(fathom_session_generate(session, ids, n_ids, &params, out, 8, &n, NULL));
    CHECK(n == 8 && sink.text_len == 0 && thoughts.text_len > 0 && sink.calls == 8);
  }
  params.reasoning = 3;
  CHECK_STATUS(fathom_session_generate(session, kPromptIds, 5, &params, out, 8, &n, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);
  params.reasoning = FATHOM_REASONING_NONE;
  params.on_reasoning = NULL;
  params.on_token = NULL;

  /* evaluate_last: the logits then predict the next token, and an empty prompt goes on. */
  CHECK_OK(fathom_session_reset(session));
  params.max_tokens = 4;
  params.evaluate_last = 1;
  CHECK_OK(fathom_session_generate(session, kPromptIds, 5, &params, out, 8, &n, NULL));
  CHECK(n == 4 && fathom_session_position(session) == 9);
  CHECK_OK(fathom_session_generate(session, NULL, 0, &params, out, 8, &n, NULL));
  CHECK(n == 4 && memcmp(out, kExpectedIds + 4, 4 * sizeof(int32_t)) == 0);
  params.evaluate_last = 2;
  CHECK_STATUS(fathom_session_generate(session, NULL, 0, &params, out, 8, &n, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);
  params.evaluate_last = 0;
  params.reserved2[5] = 1;
  CHECK_STATUS(fathom_session_generate(session, NULL, 0, &params, out, 8, &n, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);

  /* A caller built against the first layout (struct_size 56): the newer fields are not read
   * (here garbage), they take their defaults. */
  memset(&params, 0xff, sizeof(params));
  CHECK_OK(fathom_generate_params_init(&params, 56));
  CHECK(params.struct_size == 56 && params.max_tokens == 128 && params.on_token == NULL);
  CHECK(AllBytesAre((const char*)&params + 56, sizeof(params) - 56, 0xff));
  CHECK_STATUS(fathom_generate_params_init(&params, 57), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_generate_params_init(&params, 0), FATHOM_STATUS_INVALID_ARGUMENT);
  params.temperature = 0.0f;
  params.max_tokens = 8;
  CHECK_OK(fathom_session_reset(session));
  CHECK_OK(fathom_session_generate(session, kPromptIds, 5, &params, out, 8, &n, &stop));
  CHECK(n == 8 && memcmp(out, kExpectedIds, sizeof(kExpectedIds)) == 0);
  params.struct_size = 55;
  CHECK_STATUS(fathom_session_generate(session, kPromptIds, 5, &params, out, 8, &n, &stop),
               FATHOM_STATUS_INVALID_ARGUMENT);
  fathom_session_free(session);
}

/* Prefix reuse, the token list, memory, context shift, old session params, state save/load. */
static void TestSessionFeatures(const fathom_model* model, const char* state_path) {
  fathom_session* session = NULL;
  fathom_session* other = NULL;
  fathom_session_params params;
  fathom_generate_params gen;
  int32_t ids[64], first[8], again[8];
  size_t n = 0, size = 0, needed = 0;
  const float* a = NULL;
  const float* b = NULL;
  int32_t n_vocab = 0;
  int64_t before;
  unsigned char* image;
  unsigned char small[8];

  CHECK_OK(fathom_session_create(model, NULL, &session));
  if (session == NULL) return;
  CHECK(fathom_session_kv_cache_bytes(session) > 0);
  CHECK(fathom_session_memory_bytes(session) >= fathom_session_kv_cache_bytes(session));
  CHECK(fathom_session_n_evaluated(session) == 0 && fathom_session_n_shifted(session) == 0);

  /* Prefix reuse: only the differing suffix is evaluated. */
  CHECK_OK(fathom_session_evaluate(session, kPromptIds, 5, 0));
  CHECK(fathom_session_n_evaluated(session) == 5);
  memcpy(ids, kPromptIds, sizeof(kPromptIds));
  memcpy(ids + 5, kExpectedIds, 3 * sizeof(int32_t));
  CHECK_OK(fathom_session_evaluate_reusing_prefix(session, ids, 8));
  CHECK(fathom_session_n_evaluated(session) == 8 && fathom_session_position(session) == 8);
  CHECK_OK(fathom_session_logits(session, -1, &a, &n_vocab));
  CHECK(a != NULL && ArgMax(a, n_vocab) == kExpectedIds[3]);
  ids[6] = kExpectedIds[2]; /* differs from position 6 on: 2 tokens run again */
  CHECK_OK(fathom_session_evaluate_reusing_prefix(session, ids, 8));
  CHECK(fathom_session_n_evaluated(session) == 10);
  CHECK_OK(fathom_session_evaluate_reusing_prefix(session, ids, 8)); /* same: the last one */
  CHECK(fathom_session_n_evaluated(session) == 11);
  CHECK_STATUS(fathom_session_evaluate_reusing_prefix(session, ids, 0),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_session_evaluate_reusing_prefix(session, NULL, 3),
               FATHOM_STATUS_INVALID_ARGUMENT);

  /* The token list, two-phase. */
  CHECK_OK(fathom_session_tokens(session, NULL, 0, &n));
  CHECK(n == 8);
  CHECK_STATUS(fathom_session_tokens(session, first, 2, &n), FATHOM_STATUS_RESOURCE_EXHAUSTED);
  CHECK(n == 8);
  CHECK_OK(fathom_session_tokens(session, first, 8, &n));
  CHECK(n == 8 && memcmp(first, ids, sizeof(first)) == 0);
  CHECK_STATUS(fathom_session_tokens(session, first, 8, NULL), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_session_tokens(session, first, 0, &n), FATHOM_STATUS_RESOURCE_EXHAUSTED);

  /* State: two-phase save; a new session restored from it predicts the same. */
  CHECK_OK(fathom_session_reset(session));
  CHECK_OK(fathom_session_evaluate(session, kPromptIds, 5, 0));
  CHECK_OK(fathom_session_save_state(session, NULL, 0, &size));
  CHECK(size > 0);
  CHECK_STATUS(fathom_session_save_state(session, small, sizeof(small), &needed),
               FATHOM_STATUS_RESOURCE_EXHAUSTED);
  CHECK(needed == size);
  CHECK_STATUS(fathom_session_save_state(session, NULL, 0, NULL), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_session_save_state(session, small, 0, &needed),
               FATHOM_STATUS_RESOURCE_EXHAUSTED);
  CHECK(needed == size);
  CHECK_STATUS(fathom_session_save_state_file(session, NULL), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_session_load_state_file(session, NULL), FATHOM_STATUS_INVALID_ARGUMENT);
  image = (unsigned char*)malloc(size);
  CHECK(image != NULL);
  if (image == NULL) return;
  CHECK_OK(fathom_session_save_state(session, image, size, &needed));
  CHECK(needed == size);
  CHECK_OK(fathom_session_create(model, NULL, &other));
  CHECK_STATUS(fathom_session_load_state(other, NULL, 4), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_session_load_state(other, image, 0), FATHOM_STATUS_DATA_LOSS);
  CHECK_STATUS(fathom_session_load_state(other, image, size / 2), FATHOM_STATUS_DATA_LOSS);
  image[size - 3] ^= 0x40; /* a flipped bit in the data: the checksum finds it */
  CHECK_STATUS(fathom_session_load_state(other, image, size), FATHOM_STATUS_DATA_LOSS);
  CHECK(fathom_session_position(other) == 0);
  image[size - 3] ^= 0x40;
  CHECK_OK(fathom_session_load_state(other, image, size));
  CHECK(fathom_session_position(other) == 5);
  CHECK_OK(fathom_session_logits(session, -1, &a, &n_vocab));
  CHECK_OK(fathom_session_logits(other, -1, &b, NULL));
  CHECK(a != NULL && b != NULL && memcmp(a, b, (size_t)n_vocab * sizeof(float)) == 0);
  CHECK_OK(fathom_generate_default_params(&gen));
  gen.temperature = 0.0f;
  gen.max_tokens = 8;
  CHECK_OK(fathom_session_generate(other, NULL, 0, &gen, again, 8, &n, NULL));
  CHECK(n == 8 && memcmp(again, kExpectedIds, sizeof(kExpectedIds)) == 0);

  /* The same through a file; a missing file is an error. */
  CHECK_OK(fathom_session_save_state_file(session, state_path));
  CHECK_OK(fathom_session_reset(other));
  CHECK_OK(fathom_session_load_state_file(other, state_path));
  CHECK(fathom_session_position(other) == 5);
  remove(state_path);
  CHECK(fathom_session_load_state_file(other, state_path) != FATHOM_STATUS_OK);
  CHECK_ERROR_MESSAGE();
  CHECK(fathom_session_save_state_file(session, "/nonexistent/dir/x.state") != FATHOM_STATUS_OK);
  free(image);
  fathom_session_free(other);
  other = NULL;

  /* Context shift: a 16-token context generates 40 tokens. */
  CHECK_OK(fathom_session_default_params(&params));
  params.n_ctx = 16;
  params.context_overflow = FATHOM_CONTEXT_OVERFLOW_SHIFT;
  params.n_keep = 1;
  CHECK_OK(fathom_session_create(model, &params, &other));
  if (other != NULL) {
    int32_t many[40];
    gen.max_tokens = 40;
    gen.stop_at_eog = 0;
    before = fathom_session_n_shifted(other);
    CHECK_OK(fathom_session_generate(other, kPromptIds, 5, &gen, many, 40, &n, NULL));
    CHECK(n == 40 && fathom_session_n_shifted(other) > before);
    CHECK(memcmp(many, kExpectedIds, sizeof(kExpectedIds)) == 0);
    fathom_session_free(other);
    other = (fathom_session*)&other;
  }
  params.n_keep = 16;
  CHECK_STATUS(fathom_session_create(model, &params, &other), FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK(other == NULL);
  params.n_keep = -1;
  CHECK_STATUS(fathom_session_create(model, &params, &other), FATHOM_STATUS_INVALID_ARGUMENT);
  params.n_keep = 0;
  params.context_overflow = 2;
  CHECK_STATUS(fathom_session_create(model, &params, &other), FATHOM_STATUS_INVALID_ARGUMENT);

  /* The first layout of fathom_session_params (struct_size 24): overflow policy ERROR. */
  memset(&params, 0xff, sizeof(params));
  CHECK_OK(fathom_session_params_init(&params, 24));
  CHECK(params.struct_size == 24 && params.n_batch == 512 && params.reserved[2] == 0);
  CHECK(AllBytesAre((const char*)&params + 24, sizeof(params) - 24, 0xff));
  params.n_ctx = 8;
  CHECK_OK(fathom_session_create(model, &params, &other));
  if (other != NULL) {
    int32_t nine[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    CHECK_STATUS(fathom_session_evaluate(other, nine, 9, 0), FATHOM_STATUS_CONTEXT_FULL);
    fathom_session_free(other);
  }
  fathom_session_free(session);
}

static void TestWrongHandles(fathom_model* model) {
  fathom_session* session = NULL;
  fathom_session* other = NULL;
  fathom_sampler* sampler = NULL;
  int32_t token = 0;
  float logit = 0.0f;
  size_t seed_len = 0;
  char* seed_text = NULL;

  CHECK_OK(fathom_session_create(model, NULL, &session));
  CHECK_OK(fathom_sampler_create(NULL, &sampler));

  /* A handle of another kind is reported, not used. */
  CHECK(fathom_model_n_vocab((const fathom_model*)(void*)session) == 0);
  CHECK(strstr(fathom_last_error(), "not a fathom_model handle") != NULL);
  CHECK(fathom_model_architecture((const fathom_model*)(void*)sampler) == NULL);
  CHECK(fathom_session_position((const fathom_session*)(void*)model) == -1);
  CHECK_STATUS(fathom_session_evaluate((fathom_session*)(void*)sampler, &token, 1, 0),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_sampler_sample((fathom_sampler*)(void*)session, &logit, 1, &token),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_sampler_accept((fathom_sampler*)(void*)model, 1),
               FATHOM_STATUS_INVALID_ARGUMENT);
  {
    uint64_t seed = 0;
    CHECK_STATUS(fathom_sampler_seed((const fathom_sampler*)(void*)session, &seed),
                 FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(fathom_session_sampler_seed((const fathom_session*)(void*)sampler, &seed),
                 FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(fathom_chat_apply_template_ex((const fathom_model*)(void*)sampler, NULL, 0, NULL,
                                               NULL, 0, &seed_len),
                 FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(
        fathom_detokenize_ex((const fathom_model*)(void*)session, &token, 1, 1, &seed_text, NULL),
        FATHOM_STATUS_INVALID_ARGUMENT);
    CHECK(seed_text == NULL);
  }
  CHECK_STATUS(fathom_session_save_state_file((const fathom_session*)(void*)sampler, "x.state"),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_session_load_state((fathom_session*)(void*)model, &token, 4),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK(fathom_session_n_evaluated((const fathom_session*)(void*)sampler) == -1);
  CHECK_STATUS(fathom_session_evaluate_reusing_prefix((fathom_session*)(void*)model, &token, 1),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(fathom_session_create((const fathom_model*)(void*)session, NULL, &other),
               FATHOM_STATUS_INVALID_ARGUMENT);
  CHECK(other == NULL);

  /* Freeing through the wrong function frees nothing. */
  fathom_session_free((fathom_session*)(void*)model);
  CHECK_ERROR_MESSAGE();
  fathom_model_free((fathom_model*)(void*)sampler);
  fathom_sampler_free((fathom_sampler*)(void*)session);
  CHECK(fathom_model_n_vocab(model) == 512);
  CHECK(fathom_session_position(session) == 0);
  CHECK_OK(fathom_sampler_sample(sampler, &logit, 1, &token));

  /* A session keeps its model alive after fathom_model_free. */
  fathom_model_free(model);
  CHECK_OK(fathom_session_evaluate(session, kPromptIds, 5, 0));
  fathom_session_free(session);
  fathom_sampler_free(sampler);
}

/* ---- main ---------------------------------------------------------------------------------- */

static int FileExists(const char* path) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) return 0;
  fclose(f);
  return 1;
}

/* MTP speculative decoding through the C ABI: greedy tokens equal the reference continuation
 * (fixtures/deepseek/v3-tiny/expected.json "gen_tokens") for every n_draft, the statistics add
 * up, and the refusals (no MTP session, bad mode or n_draft, bad stats struct) are errors. */
static void TestSpeculative(fathom_model* model, const int32_t* prompt) {
  static const int32_t kGreedy[16] = {10,  531, 382, 567,  654, 540, 633, 197,
                                      443, 541, 359, 1001, 225, 288, 181, 274};
  fathom_session* session = NULL;
  fathom_session_params sp;
  fathom_generate_params gp;
  fathom_speculative_stats stats;
  int32_t out[16];
  size_t n = 0;
  int32_t n_draft, d;
  CHECK_OK(fathom_session_default_params(&sp));
  sp.n_ctx = 64;
  CHECK_OK(fathom_generate_default_params(&gp));
  gp.temperature = 0.0f;
  gp.max_tokens = 16;
  gp.stop_at_eog = 0;
  gp.speculative = FATHOM_SPECULATIVE_MTP;
  CHECK_OK(fathom_session_create(model, &sp, &session)); /* without mtp: refused */
  CHECK_STATUS(fathom_session_generate(session, prompt, 20, &gp, out, 16, &n, NULL),
               FATHOM_STATUS_FAILED_PRECONDITION);
  fathom_session_free(session);
  sp.mtp = 1;
  for (n_draft = 1; n_draft <= FATHOM_MAX_DRAFT; ++n_draft) {
    CHECK_OK(fathom_session_create(model, &sp, &session));
    if (session == NULL) return;
    gp.n_draft = n_draft;
    CHECK_OK(fathom_session_generate(session, prompt, 20, &gp, out, 16, &n, NULL));
    CHECK(n == 16 && memcmp(out, kGreedy, sizeof(kGreedy)) == 0);
    memset(&stats, 0xff, sizeof(stats));
    stats.struct_size = sizeof(stats);
    CHECK_OK(fathom_session_speculative_stats(session, &stats));
    CHECK(stats.struct_size == sizeof(stats) && stats.main_forwards > 0 && stats.tokens == 15);
    CHECK(stats.drafted > 0 && stats.accepted >= 0 && stats.accepted <= stats.drafted);
    for (d = 0; d < FATHOM_MAX_DRAFT; ++d) {
      CHECK(stats.accepted_at_depth[d] <= stats.drafted_at_depth[d]);
      CHECK(d < n_draft || stats.drafted_at_depth[d] == 0);
    }
    stats.struct_size = 3;
    CHECK_STATUS(fathom_session_speculative_stats(session, &stats), FATHOM_STATUS_INVALID_ARGUMENT);
    fathom_session_free(session);
  }
  CHECK_OK(fathom_session_create(model, &sp, &session));
  if (session == NULL) return;
  gp.n_draft = FATHOM_MAX_DRAFT + 1;
  CHECK_STATUS(fathom_session_generate(session, prompt, 20, &gp, out, 16, &n, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);
  gp.n_draft = 1;
  gp.speculative = 7;
  CHECK_STATUS(fathom_session_generate(session, prompt, 20, &gp, out, 16, &n, NULL),
               FATHOM_STATUS_INVALID_ARGUMENT);
  /* The first released layout (no speculative fields) still works, without speculation. */
  gp.struct_size = offsetof(fathom_generate_params, min_p);
  CHECK_OK(fathom_session_generate(session, prompt, 20, &gp, out, 16, &n, NULL));
  CHECK(n == 16 && memcmp(out, kGreedy, sizeof(kGreedy)) == 0);
  stats.struct_size = sizeof(stats);
  CHECK_OK(fathom_session_speculative_stats(session, &stats));
  CHECK(stats.main_forwards == 0 && stats.drafted == 0);
  fathom_session_free(session);
}

/* DeepSeek-V3 MTP logits through the C ABI: row p's argmax equals the reference's
 * (fixtures/deepseek/v3-tiny/expected.json "mtp_argmax", rows 0..18 of the prompt). */
static void TestMtp(const char* folder) {
  static const int32_t kPrompt[20] = {0,   721, 859, 350, 709, 273, 222, 191, 130, 673,
                                      385, 185, 772, 315, 753, 384, 423, 997, 661, 216};
  static const int32_t kMtpArgmax[19] = {697, 868, 895, 50, 276, 40,  752, 449, 77, 13,
                                         104, 893, 417, 84, 982, 191, 106, 550, 949};
  fathom_model* model = NULL;
  fathom_session* session = NULL;
  fathom_session_params params;
  const float* row = NULL;
  int32_t n_vocab = 0, i;
  CHECK_OK(fathom_model_load(folder, NULL, &model));
  if (model == NULL) return;
  CHECK_OK(fathom_session_default_params(&params));
  params.n_ctx = 64;
  params.mtp = 1;
  CHECK_OK(fathom_session_create(model, &params, &session));
  if (session != NULL) {
    CHECK(fathom_session_n_mtp_logits(session) == 0);
    CHECK_OK(fathom_session_evaluate(session, kPrompt, 20, 0));
    CHECK(fathom_session_n_mtp_logits(session) == 19);
    CHECK(fathom_session_mtp_first_position(session) == 0);
    for (i = 0; i < 19; ++i) {
      CHECK_OK(fathom_session_mtp_logits(session, i, &row, &n_vocab));
      CHECK(n_vocab == 1024 && row != NULL && ArgMax(row, n_vocab) == kMtpArgmax[i]);
    }
    CHECK_STATUS(fathom_session_mtp_logits(session, 19, &row, &n_vocab),
                 FATHOM_STATUS_OUT_OF_RANGE);
    CHECK(row == NULL);
    fathom_session_free(session);
  }
  TestSpeculative(model, kPrompt);
  fathom_model_free(model);
}

int main(void) {
  const char* dir = getenv("FATHOM_FIXTURES");
  const char* ci = getenv("CI");
  char model_path[4096], json_path[4096];
  fathom_model* model;

  if (dir == NULL || dir[0] == '\0') dir = FATHOM_FIXTURES_DEFAULT;
  snprintf(model_path, sizeof(model_path), "%s/stories260K/stories260K.gguf", dir);
  snprintf(json_path, sizeof(json_path), "%s/stories260K/expected.json", dir);

  TestVersionsAndStatus();
  TestFreeNull();
  TestLogging();
  TestDefaultParams();
  TestNullHandles();
  TestBadModelLoad(FileExists(json_path) ? json_path : NULL);
  TestSampler();

  if (!FileExists(model_path)) {
    if (ci != NULL && strcmp(ci, "true") == 0) {
      fprintf(stderr, "FAIL: missing fixture %s (CI=true)\n", model_path);
      return 1;
    }
    printf("SKIP: missing fixture %s; ran only the tests without a model\n", model_path);
    return failures == 0 ? 0 : 1;
  }
  model = TestModelLoad(model_path);
  if (model != NULL) {
    TestMetadata(model);
    TestTokenizer(model);
    TestDetokenizer(model);
    TestChatTemplate(model);
    TestSessionEvaluate(model);
    TestGenerate(model);
    TestGenerateOptions(model);
    snprintf(json_path, sizeof(json_path), "capi_test_%ld.state", (long)time(NULL));
    TestSessionFeatures(model, json_path);
    TestWrongHandles(model); /* frees the model */
  }
  snprintf(model_path, sizeof(model_path), "%s/deepseek/v3-tiny", dir);
  TestMtp(model_path);

  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("PASS\n");
  return 0;
}
