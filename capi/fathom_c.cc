// The C ABI (capi/fathom.h) over the C++ API: checks every handle and pointer, maps fathom::Status
// to status codes plus a thread-local message, and lets no exception cross the boundary.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "fathom.h"
#include "fathom/fathom.h"
#include "tokenizer/json_util.h"

// Every handle starts with a magic number that tells its kind, so a handle of the wrong kind is
// reported instead of misused.
struct fathom_model {
  uint64_t magic;
  std::shared_ptr<const fathom::Model> model;
  std::string chat_template;  // the tokenizer's, kept so that a const char* can be handed out
};

struct fathom_session {
  uint64_t magic;
  std::unique_ptr<fathom::Session> session;
  fathom::SpeculativeStats speculative;  // of the last fathom_session_generate
};

struct fathom_sampler {
  uint64_t magic;
  std::unique_ptr<fathom::Sampler> sampler;
};

struct fathom_detokenizer {
  uint64_t magic;
  std::shared_ptr<const fathom::Model> model;  // keeps the tokenizer that decoder points to alive
  std::unique_ptr<fathom::StreamingDecoder> decoder;
  std::string text;  // the last text handed out
};

// The handles hold std::unique_ptr members, which clang's standard library view does not count
// as standard-layout, so the property the handle check relies on is asserted directly: offsetof
// on these non-virtual, base-less structs is supported by GCC and Clang (their warning about
// non-standard-layout types is silenced for this one check).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
static_assert(offsetof(fathom_model, magic) == 0 && offsetof(fathom_session, magic) == 0 &&
                  offsetof(fathom_sampler, magic) == 0 && offsetof(fathom_detokenizer, magic) == 0,
              "the magic number must sit at offset 0 of every handle");
#pragma GCC diagnostic pop
static_assert(!std::is_polymorphic_v<fathom_model> && !std::is_polymorphic_v<fathom_session> &&
                  !std::is_polymorphic_v<fathom_sampler> &&
                  !std::is_polymorphic_v<fathom_detokenizer>,
              "a handle with a vtable pointer would not start with its magic number");

// The parameter structs have no implicit padding (checked on 64-bit targets), so that a field
// added later always changes sizeof and struct_size tells the layouts apart.
static_assert(sizeof(void*) != 8 ||
                  (sizeof(fathom_model_params) == 24 && sizeof(fathom_session_params) == 32 &&
                   sizeof(fathom_generate_params) == 168 && sizeof(fathom_sampler_params) == 88),
              "a parameter struct has implicit padding");

namespace fathom {
namespace {

// Arbitrary distinct values, unlikely to start any other object.
constexpr uint64_t kModelMagic = 0xfa7401d3a0de1001ULL;
constexpr uint64_t kSessionMagic = 0xfa7401d3a0de1002ULL;
constexpr uint64_t kSamplerMagic = 0xfa7401d3a0de1003ULL;
constexpr uint64_t kDetokenizerMagic = 0xfa7401d3a0de1004ULL;

// Sizes of the first released layout of each parameter struct. When a struct grows, calls that
// pass one of these older sizes keep working: the fields they lack take their defaults.
// (Sizes are those of LP64 targets, where the first layouts were released.)
constexpr size_t kMinModelParamsSize = sizeof(fathom_model_params);
constexpr size_t kMinSessionParamsSize = offsetof(fathom_session_params, context_overflow);
constexpr size_t kMinGenerateParamsSize = offsetof(fathom_generate_params, min_p);
constexpr size_t kMinSamplerParamsSize = offsetof(fathom_sampler_params, min_p);
constexpr size_t kMinChatTemplateParamsSize = sizeof(fathom_chat_template_params);

thread_local std::string last_error;

// ---- logging: one process-wide sink; the level is read without a lock ----
std::atomic<int32_t> log_level{FATHOM_LOG_WARN};

struct LogSink {
  // Held shared while a callback runs, exclusively while it is replaced: after
  // fathom_set_log_callback returns, nobody is inside the old callback any more.
  std::shared_mutex mutex;
  fathom_log_callback callback = nullptr;
  void* user_data = nullptr;
};

LogSink& Sink() {
  static LogSink* sink = new LogSink;  // never destroyed: usable until the process ends
  return *sink;
}

const char* LevelName(int32_t level) {
  switch (level) {
    case FATHOM_LOG_DEBUG:
      return "debug";
    case FATHOM_LOG_INFO:
      return "info";
    case FATHOM_LOG_WARN:
      return "warning";
    default:
      return "error";
  }
}

thread_local bool in_log_callback = false;  // calls made by the callback itself log nothing

// Delivers one diagnostic if its level passes; never throws.
__attribute__((format(printf, 2, 3))) void Log(int32_t level, const char* format, ...) noexcept {
  if (level < log_level.load(std::memory_order_relaxed) || in_log_callback) return;
  char buffer[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  try {
    LogSink& sink = Sink();
    std::shared_lock lock(sink.mutex);
    if (sink.callback != nullptr) {
      in_log_callback = true;
      sink.callback(sink.user_data, level, buffer);
      in_log_callback = false;
    } else {
      std::fprintf(stderr, "fathom: %s: %s\n", LevelName(level), buffer);
    }
  } catch (...) {
    // A lock that cannot be taken loses the message, nothing else.
  }
}

void SetLastError(const char* fn, std::string_view message, std::string_view detail = {}) noexcept {
  try {
    last_error.assign(fn).append(": ").append(message).append(detail);
  } catch (...) {
    last_error.clear();  // out of memory: an empty message is all that is left to give
  }
}

// A failed check inside a C function. Errors travel as this exception so that every check is
// one line; Guard, at the edge of each C function, turns it (and any other exception) into a
// status code, so nothing is thrown across the C boundary.
struct CError {
  fathom_status code;
  std::string message;
};

[[noreturn]] void Fail(fathom_status code, std::string message) {
  throw CError{code, std::move(message)};
}

// Fail with a printf-style message. (std::to_string would export libstdc++'s unique template
// statics from the shared library.)
[[noreturn]] __attribute__((format(printf, 2, 3))) void Failf(fathom_status code,
                                                              const char* format, ...) {
  char buffer[256];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  Fail(code, buffer);
}

void Require(bool condition, const char* message) {
  if (!condition) Fail(FATHOM_STATUS_INVALID_ARGUMENT, message);
}

void Check(const Status& status) {
  if (!status.ok()) Fail(static_cast<fathom_status>(status.code()), status.message());
}

template <typename T>
T Take(Result<T>&& result) {
  Check(result.status());
  return std::move(result).value();
}

// Parses a JSON text passed in a params struct (the tokenizer's own parser and depth limit).
internal::Json TakeJson(const char* text, const char* what) {
  absl::StatusOr<internal::Json> json = internal::ParseJson(text, what);
  if (!json.ok()) Fail(FATHOM_STATUS_INVALID_ARGUMENT, std::string(json.status().message()));
  return *std::move(json);
}

// Runs `body` for the C function `fn`: returns its status, records the message of any failure
// and converts every exception into a status.
template <typename Body>
fathom_status Guard(const char* fn, Body&& body) noexcept {
  try {
    body();
    last_error.clear();
    return FATHOM_STATUS_OK;
  } catch (const CError& e) {
    SetLastError(fn, e.message);
    Log(FATHOM_LOG_DEBUG, "%s", last_error.c_str());
    return e.code;
  } catch (const std::bad_alloc&) {
    SetLastError(fn, "out of memory");
    Log(FATHOM_LOG_ERROR, "%s", last_error.c_str());
    return FATHOM_STATUS_RESOURCE_EXHAUSTED;
  } catch (const std::exception& e) {
    SetLastError(fn, "unexpected exception: ", e.what());
    Log(FATHOM_LOG_ERROR, "%s", last_error.c_str());
    return FATHOM_STATUS_INTERNAL;
  } catch (...) {
    SetLastError(fn, "unexpected exception");
    Log(FATHOM_LOG_ERROR, "%s", last_error.c_str());
    return FATHOM_STATUS_INTERNAL;
  }
}

// For functions that return a value: `fallback` when `body` fails.
template <typename T, typename Body>
T GuardValue(const char* fn, T fallback, Body&& body) noexcept {
  T value = fallback;
  Guard(fn, [&] { value = body(); });
  return value;
}

template <typename Handle>
Handle* CheckHandle(Handle* handle, uint64_t magic, const char* kind) {
  if (handle == nullptr) Fail(FATHOM_STATUS_INVALID_ARGUMENT, std::string(kind) + " is NULL");
  uint64_t found;
  std::memcpy(&found, static_cast<const void*>(handle), sizeof(found));
  if (found != magic) {
    Fail(FATHOM_STATUS_INVALID_ARGUMENT, std::string("not a ") + kind + " handle");
  }
  return handle;
}

const Model& GetModel(const fathom_model* model) {
  return *CheckHandle(model, kModelMagic, "fathom_model")->model;
}
Session& GetSession(fathom_session* session) {
  return *CheckHandle(session, kSessionMagic, "fathom_session")->session;
}
const Session& GetSession(const fathom_session* session) {
  return *CheckHandle(session, kSessionMagic, "fathom_session")->session;
}
Sampler& GetSampler(fathom_sampler* sampler) {
  return *CheckHandle(sampler, kSamplerMagic, "fathom_sampler")->sampler;
}
const Sampler& GetSampler(const fathom_sampler* sampler) {
  return *CheckHandle(sampler, kSamplerMagic, "fathom_sampler")->sampler;
}
fathom_detokenizer& GetDetokenizer(fathom_detokenizer* detokenizer) {
  return *CheckHandle(detokenizer, kDetokenizerMagic, "fathom_detokenizer");
}

// Frees a handle unless it is NULL; a handle of the wrong kind is left alone (and reported).
template <typename Handle>
void Destroy(const char* fn, Handle* handle, uint64_t magic, const char* kind) noexcept {
  if (handle == nullptr) return;
  Guard(fn, [&] {
    CheckHandle(handle, magic, kind);
    handle->magic = 0;  // a stale pointer to this memory should not pass for a handle
    delete handle;
  });
}

// Copies caller parameters over `defaults`, honouring struct_size (older, smaller layouts).
// Only the sizes of released layouts are accepted: the first one and the current one (a revision
// in between would be added here).
template <typename Params>
Params ReadParams(const Params* params, Params defaults, size_t min_size, const char* name) {
  if (params == nullptr) return defaults;
  if (params->struct_size != min_size && params->struct_size != sizeof(Params)) {
    Failf(FATHOM_STATUS_INVALID_ARGUMENT,
          "%s.struct_size is %zu, expected %zu (fill it with the matching fathom_*_default_params)",
          name, params->struct_size, sizeof(Params));
  }
  std::memcpy(static_cast<void*>(&defaults), params, params->struct_size);
  return defaults;
}

// Writes the first `size` bytes of the defaults: the caller's layout, the first released one or
// the current one.
template <typename Params>
void WriteDefaults(Params* out, Params defaults, size_t size, size_t min_size, const char* name) {
  Require(out != nullptr, "params is NULL");
  if (size != min_size && size != sizeof(Params)) {
    Failf(FATHOM_STATUS_INVALID_ARGUMENT, "%s: struct_size %zu is not a released layout (%zu, %zu)",
          name, size, min_size, sizeof(Params));
  }
  defaults.struct_size = size;
  std::memcpy(static_cast<void*>(out), &defaults, size);
}

fathom_model_params DefaultModelParams() {
  fathom_model_params p{};
  p.struct_size = sizeof(p);
  return p;
}

fathom_session_params DefaultSessionParams() {
  const SessionOptions o;
  fathom_session_params p{};
  p.struct_size = sizeof(p);
  p.n_ctx = o.n_ctx;
  p.n_threads = o.n_threads;
  p.n_batch = o.n_batch;
  p.context_overflow = static_cast<int32_t>(o.context_overflow);
  p.n_keep = o.n_keep;
  return p;
}

fathom_generate_params DefaultGenerateParams() {
  const GenerateOptions o;
  fathom_generate_params p{};
  p.struct_size = sizeof(p);
  p.seed = o.sampler.seed;
  p.temperature = o.sampler.temperature;
  p.top_k = o.sampler.top_k;
  p.top_p = o.sampler.top_p;
  p.max_tokens = o.max_tokens;
  p.stop_at_eog = o.stop_at_eos ? 1 : 0;
  p.min_p = o.sampler.min_p;
  p.typical_p = o.sampler.typical_p;
  p.penalty_last_n = o.sampler.penalty_last_n;
  p.repeat_penalty = o.sampler.repeat_penalty;
  p.frequency_penalty = o.sampler.frequency_penalty;
  p.presence_penalty = o.sampler.presence_penalty;
  p.reasoning = static_cast<uint8_t>(o.reasoning);
  p.evaluate_last = o.evaluate_last ? 1 : 0;
  p.speculative = static_cast<int32_t>(o.speculative);
  p.n_draft = o.n_draft;
  return p;
}

fathom_sampler_params DefaultSamplerParams() {
  const SamplerOptions o;
  fathom_sampler_params p{};
  p.struct_size = sizeof(p);
  p.seed = o.seed;
  p.temperature = o.temperature;
  p.top_k = o.top_k;
  p.top_p = o.top_p;
  p.min_p = o.min_p;
  p.typical_p = o.typical_p;
  p.penalty_last_n = o.penalty_last_n;
  p.repeat_penalty = o.repeat_penalty;
  p.frequency_penalty = o.frequency_penalty;
  p.presence_penalty = o.presence_penalty;
  return p;
}

// The sampler chain's settings shared by fathom_sampler_params and fathom_generate_params.
struct ChainParams {
  uint64_t seed;
  float temperature;
  int32_t top_k;
  float top_p;
  float min_p;
  float typical_p;
  int32_t penalty_last_n;
  float repeat_penalty;
  float frequency_penalty;
  float presence_penalty;
  const fathom_logit_bias* logit_bias;
  size_t n_logit_bias;
  const int32_t* order;
  size_t n_order;
};

template <typename Params>
ChainParams Chain(const Params& p, const int32_t* order, size_t n_order) {
  return {p.seed,
          p.temperature,
          p.top_k,
          p.top_p,
          p.min_p,
          p.typical_p,
          p.penalty_last_n,
          p.repeat_penalty,
          p.frequency_penalty,
          p.presence_penalty,
          p.logit_bias,
          p.n_logit_bias,
          order,
          n_order};
}

// Checks and converts the chain settings (the arrays are copied).
SamplerOptions ToSamplerOptions(const ChainParams& p) {
  SamplerOptions o;
  o.seed = p.seed;
  o.temperature = p.temperature;
  o.top_k = p.top_k;
  o.top_p = p.top_p;
  o.min_p = p.min_p;
  o.typical_p = p.typical_p;
  Require(p.penalty_last_n >= -1, "penalty_last_n must be >= -1");
  o.penalty_last_n = p.penalty_last_n;
  o.repeat_penalty = p.repeat_penalty;
  o.frequency_penalty = p.frequency_penalty;
  o.presence_penalty = p.presence_penalty;
  for (float v : {p.temperature, p.top_p, p.min_p, p.typical_p, p.repeat_penalty,
                  p.frequency_penalty, p.presence_penalty}) {
    Require(!std::isnan(v), "a sampler parameter is NaN");
  }
  Require(p.repeat_penalty > 0.0f, "repeat_penalty must be > 0");
  Require(p.logit_bias != nullptr || p.n_logit_bias == 0, "logit_bias is NULL");
  Require(p.n_logit_bias <= (size_t{1} << 24), "too many logit_bias entries");
  o.logit_bias.reserve(p.n_logit_bias);
  for (size_t i = 0; i < p.n_logit_bias; ++i) {
    Require(p.logit_bias[i].token >= 0, "a logit_bias token is negative");
    Require(!std::isnan(p.logit_bias[i].bias), "a logit_bias value is NaN");
    o.logit_bias.emplace_back(p.logit_bias[i].token, p.logit_bias[i].bias);
  }
  if (p.n_order > 0) {
    Require(p.order != nullptr, "the sampler order is NULL");
    Require(p.n_order <= 64, "the sampler order has more than 64 stages");
    o.order.clear();
    for (size_t i = 0; i < p.n_order; ++i) {
      if (p.order[i] < FATHOM_SAMPLER_PENALTIES || p.order[i] > FATHOM_SAMPLER_TEMPERATURE) {
        Failf(FATHOM_STATUS_INVALID_ARGUMENT, "sampler stage %d is not one of FATHOM_SAMPLER_*",
              p.order[i]);
      }
      o.order.push_back(static_cast<SamplerStage>(p.order[i]));
    }
  }
  return o;
}

// Copies `capacity`-checked bytes out for a two-phase query (*out_size is always set).
void CopyOut(const std::string& data, void* buf, size_t capacity, size_t* out_size,
             const char* what) {
  *out_size = data.size();
  if (buf == nullptr) return;
  if (capacity < data.size()) {
    Failf(FATHOM_STATUS_RESOURCE_EXHAUSTED, "the %s needs %zu bytes, the buffer holds %zu", what,
          data.size(), capacity);
  }
  std::memcpy(buf, data.data(), data.size());
}

// The C++ API checks the ids themselves; here only the pointer and the count.
void RequireTokens(const int32_t* tokens, size_t n_tokens) {
  Require(tokens != nullptr || n_tokens == 0, "tokens is NULL");
  Require(n_tokens <= static_cast<size_t>(std::numeric_limits<int32_t>::max()), "too many tokens");
}

int32_t StopReasonCode(GenerateResult::StopReason reason) {
  switch (reason) {
    case GenerateResult::StopReason::kMaxTokens:
      return FATHOM_STOP_MAX_TOKENS;
    case GenerateResult::StopReason::kEndOfGeneration:
      return FATHOM_STOP_EOG;
    case GenerateResult::StopReason::kCallback:
      return FATHOM_STOP_CALLBACK;
    case GenerateResult::StopReason::kCancelled:
      return FATHOM_STOP_CANCELLED;
    case GenerateResult::StopReason::kContextFull:
      return FATHOM_STOP_CONTEXT_FULL;
    case GenerateResult::StopReason::kStopString:
      return FATHOM_STOP_STRING;
  }
  return FATHOM_STOP_MAX_TOKENS;
}

}  // namespace
}  // namespace fathom

using namespace fathom;  // NOLINT: this file implements fathom's C functions

extern "C" {

// ---- versions, errors, memory -------------------------------------------------------------------

int32_t fathom_abi_version(void) { return FATHOM_ABI_VERSION; }

const char* fathom_version_string(void) { return VersionString(); }

const char* fathom_last_error(void) { return last_error.c_str(); }

const char* fathom_status_string(fathom_status code) {
  switch (code) {
    case FATHOM_STATUS_OK:
      return "OK";
    case FATHOM_STATUS_CANCELLED:
      return "CANCELLED";
    case FATHOM_STATUS_UNKNOWN:
      return "UNKNOWN";
    case FATHOM_STATUS_INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case FATHOM_STATUS_NOT_FOUND:
      return "NOT_FOUND";
    case FATHOM_STATUS_ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case FATHOM_STATUS_PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case FATHOM_STATUS_RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case FATHOM_STATUS_FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case FATHOM_STATUS_OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case FATHOM_STATUS_UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case FATHOM_STATUS_INTERNAL:
      return "INTERNAL";
    case FATHOM_STATUS_UNAVAILABLE:
      return "UNAVAILABLE";
    case FATHOM_STATUS_DATA_LOSS:
      return "DATA_LOSS";
    case FATHOM_STATUS_CONTEXT_FULL:
      return "CONTEXT_FULL";
    default:
      return "UNRECOGNIZED";
  }
}

void fathom_free(void* ptr) { std::free(ptr); }

// ---- model ----------------------------------------------------------------------------------

fathom_status fathom_model_params_init(fathom_model_params* params, size_t struct_size) {
  return Guard(__func__, [&] {
    WriteDefaults(params, DefaultModelParams(), struct_size, kMinModelParamsSize,
                  "fathom_model_params");
  });
}

fathom_status fathom_model_load(const char* path, const fathom_model_params* params,
                                fathom_model** out_model) {
  return Guard(__func__, [&] {
    Require(out_model != nullptr, "out_model is NULL");
    *out_model = nullptr;
    Require(path != nullptr, "path is NULL");
    const fathom_model_params p =
        ReadParams(params, DefaultModelParams(), kMinModelParamsSize, "fathom_model_params");
    ModelLoadOptions options;
    if (p.progress != nullptr) {
      options.progress = [callback = p.progress, user_data = p.progress_user_data](float f) {
        return callback(user_data, f) == 0;
      };
    }
    auto handle = std::make_unique<fathom_model>();
    handle->magic = kModelMagic;
    handle->model = Take(Model::Load(path, options));
    handle->chat_template = handle->model->tokenizer().chat_template();
    const ModelInfo& info = handle->model->info();
    Log(FATHOM_LOG_INFO, "loaded %s: %s, %lld parameters, %d layers, vocabulary of %d", path,
        info.architecture.c_str(), static_cast<long long>(info.n_params), info.n_layer,
        info.n_vocab);
    *out_model = handle.release();
  });
}

void fathom_model_free(fathom_model* model) {
  Destroy(__func__, model, kModelMagic, "fathom_model");
}

const char* fathom_model_architecture(const fathom_model* model) {
  return GuardValue<const char*>(__func__, nullptr,
                                 [&] { return GetModel(model).info().architecture.c_str(); });
}

const char* fathom_model_name(const fathom_model* model) {
  return GuardValue<const char*>(__func__, nullptr,
                                 [&] { return GetModel(model).info().name.c_str(); });
}

int64_t fathom_model_n_params(const fathom_model* model) {
  return GuardValue<int64_t>(__func__, 0, [&] { return GetModel(model).info().n_params; });
}

int32_t fathom_model_n_vocab(const fathom_model* model) {
  return GuardValue<int32_t>(__func__, 0, [&] { return GetModel(model).info().n_vocab; });
}

int32_t fathom_model_n_ctx_train(const fathom_model* model) {
  return GuardValue<int32_t>(__func__, 0, [&] { return GetModel(model).info().n_ctx_train; });
}

int32_t fathom_model_n_embd(const fathom_model* model) {
  return GuardValue<int32_t>(__func__, 0, [&] { return GetModel(model).info().n_embd; });
}

int32_t fathom_model_n_layer(const fathom_model* model) {
  return GuardValue<int32_t>(__func__, 0, [&] { return GetModel(model).info().n_layer; });
}

int32_t fathom_model_n_head(const fathom_model* model) {
  return GuardValue<int32_t>(__func__, 0, [&] { return GetModel(model).info().n_head; });
}

int32_t fathom_model_n_head_kv(const fathom_model* model) {
  return GuardValue<int32_t>(__func__, 0, [&] { return GetModel(model).info().n_head_kv; });
}

const char* fathom_model_chat_template(const fathom_model* model) {
  return GuardValue<const char*>(__func__, nullptr, [&] {
    return CheckHandle(model, kModelMagic, "fathom_model")->chat_template.c_str();
  });
}

int64_t fathom_model_kv_bytes_per_token(const fathom_model* model) {
  return GuardValue<int64_t>(__func__, 0,
                             [&] { return GetModel(model).info().kv_bytes_per_token; });
}

int32_t fathom_model_token_bos(const fathom_model* model) {
  return GuardValue<int32_t>(__func__, -1, [&] { return GetModel(model).tokenizer().bos(); });
}

int32_t fathom_model_token_eos(const fathom_model* model) {
  return GuardValue<int32_t>(__func__, -1, [&] { return GetModel(model).tokenizer().eos(); });
}

uint8_t fathom_model_token_is_eog(const fathom_model* model, int32_t token) {
  return GuardValue<uint8_t>(__func__, 0, [&]() -> uint8_t {
    return GetModel(model).tokenizer().IsEndOfGeneration(token) ? 1 : 0;
  });
}

// ---- tokenizer ------------------------------------------------------------------------------

fathom_status fathom_tokenize(const fathom_model* model, const char* text, size_t text_len,
                              uint8_t add_bos, uint8_t parse_special, int32_t* tokens,
                              size_t capacity, size_t* out_n_tokens) {
  return Guard(__func__, [&] {
    const Model& m = GetModel(model);
    Require(out_n_tokens != nullptr, "out_n_tokens is NULL");
    Require(text != nullptr || text_len == 0, "text is NULL");
    Tokenizer::EncodeOptions options;
    options.add_bos = add_bos != 0;
    options.parse_special = parse_special != 0;
    const std::vector<int32_t> ids = Take(
        m.tokenizer().Encode(std::string_view(text == nullptr ? "" : text, text_len), options));
    *out_n_tokens = ids.size();
    if (tokens == nullptr) return;
    if (capacity < ids.size()) {
      Failf(FATHOM_STATUS_RESOURCE_EXHAUSTED, "the text needs %zu tokens, the buffer holds %zu",
            ids.size(), capacity);
    }
    std::copy(ids.begin(), ids.end(), tokens);
  });
}

fathom_status fathom_token_to_piece(const fathom_model* model, int32_t token, char* buf,
                                    size_t capacity, size_t* out_len) {
  return Guard(__func__, [&] {
    const Model& m = GetModel(model);
    Require(out_len != nullptr, "out_len is NULL");
    const std::string piece = Take(m.tokenizer().TokenToPiece(token));
    *out_len = piece.size();
    if (buf == nullptr) return;
    if (capacity < piece.size() + 1) {
      Failf(FATHOM_STATUS_RESOURCE_EXHAUSTED,
            "the piece needs %zu bytes with its NUL, the buffer holds %zu", piece.size() + 1,
            capacity);
    }
    std::memcpy(buf, piece.data(), piece.size());
    buf[piece.size()] = '\0';
  });
}

fathom_status fathom_token_text(const fathom_model* model, int32_t token, char* buf,
                                size_t capacity, size_t* out_len) {
  return Guard(__func__, [&] {
    const Model& m = GetModel(model);
    Require(out_len != nullptr, "out_len is NULL");
    const std::string text = m.tokenizer().TokenText(token);
    *out_len = text.size();
    if (buf == nullptr) return;
    if (capacity < text.size() + 1) {
      Failf(FATHOM_STATUS_RESOURCE_EXHAUSTED,
            "the text needs %zu bytes with its NUL, the buffer holds %zu", text.size() + 1,
            capacity);
    }
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
  });
}

// The messages of fathom_chat_apply_template(_ex), checked.
static std::vector<ChatMessage> ReadMessages(const fathom_chat_message* messages,
                                             size_t n_messages) {
  Require(messages != nullptr || n_messages == 0, "messages is NULL");
  std::vector<ChatMessage> list;
  list.reserve(n_messages);
  for (size_t i = 0; i < n_messages; ++i) {
    Require(messages[i].role != nullptr && messages[i].content != nullptr,
            "a message's role or content is NULL");
    list.push_back({messages[i].role, messages[i].content});
  }
  return list;
}

// Two-phase output of a rendered prompt: its length always, the text with a NUL when it fits.
static void CopyPrompt(const std::string& prompt, char* buf, size_t capacity, size_t* out_len) {
  *out_len = prompt.size();
  if (buf == nullptr) return;
  if (capacity < prompt.size() + 1) {
    Failf(FATHOM_STATUS_RESOURCE_EXHAUSTED,
          "the prompt needs %zu bytes with its NUL, the buffer holds %zu", prompt.size() + 1,
          capacity);
  }
  std::memcpy(buf, prompt.data(), prompt.size());
  buf[prompt.size()] = '\0';
}

fathom_status fathom_chat_apply_template(const fathom_model* model,
                                         const fathom_chat_message* messages, size_t n_messages,
                                         uint8_t add_generation_prompt, char* buf, size_t capacity,
                                         size_t* out_len) {
  return Guard(__func__, [&] {
    const Model& m = GetModel(model);
    Require(out_len != nullptr, "out_len is NULL");
    const std::vector<ChatMessage> list = ReadMessages(messages, n_messages);
    ChatTemplateOptions options;
    options.add_generation_prompt = add_generation_prompt != 0;
    const std::string prompt = Take(m.tokenizer().ApplyChatTemplate(list, options));
    CopyPrompt(prompt, buf, capacity, out_len);
  });
}

fathom_status fathom_chat_template_params_init(fathom_chat_template_params* params,
                                               size_t struct_size) {
  return Guard(__func__, [&] {
    fathom_chat_template_params defaults{};
    defaults.struct_size = sizeof(defaults);
    WriteDefaults(params, defaults, struct_size, kMinChatTemplateParamsSize,
                  "fathom_chat_template_params");
  });
}

fathom_status fathom_chat_apply_template_ex(const fathom_model* model,
                                            const fathom_chat_message* messages, size_t n_messages,
                                            const fathom_chat_template_params* params, char* buf,
                                            size_t capacity, size_t* out_len) {
  return Guard(__func__, [&] {
    const Model& m = GetModel(model);
    Require(out_len != nullptr, "out_len is NULL");
    fathom_chat_template_params defaults{};
    defaults.struct_size = sizeof(defaults);
    const fathom_chat_template_params p =
        ReadParams(params, defaults, kMinChatTemplateParamsSize, "fathom_chat_template_params");
    for (uint8_t r : p.reserved) Require(r == 0, "reserved must be 0");
    const std::vector<ChatMessage> list = ReadMessages(messages, n_messages);
    ChatTemplateOptions options;
    options.add_generation_prompt = p.add_generation_prompt != 0;
    if (p.variables_json != nullptr) {
      const internal::Json vars =
          TakeJson(p.variables_json, "fathom_chat_template_params.variables_json");
      Require(vars.is_object(), "fathom_chat_template_params.variables_json is not a JSON object");
      for (const auto& [name, value] : vars.items()) options.variables_json[name] = value.dump();
    }
    if (p.messages_json != nullptr) {
      const internal::Json msgs =
          TakeJson(p.messages_json, "fathom_chat_template_params.messages_json");
      Require(msgs.is_array(), "fathom_chat_template_params.messages_json is not a JSON array");
      options.messages_json = p.messages_json;
    }
    if (p.bos_token != nullptr) options.bos_token = p.bos_token;
    if (p.eos_token != nullptr) options.eos_token = p.eos_token;
    const std::string prompt = Take(m.tokenizer().ApplyChatTemplate(list, options));
    CopyPrompt(prompt, buf, capacity, out_len);
  });
}

fathom_status fathom_detokenize_ex(const fathom_model* model, const int32_t* tokens,
                                   size_t n_tokens, uint8_t skip_special, char** out_text,
                                   size_t* out_len) {
  return Guard(__func__, [&] {
    Require(out_text != nullptr, "out_text is NULL");
    *out_text = nullptr;
    const Model& m = GetModel(model);
    RequireTokens(tokens, n_tokens);
    const std::string text = Take(
        m.tokenizer().Decode(std::vector<int32_t>(tokens, tokens + n_tokens), skip_special != 0));
    char* copy = static_cast<char*>(std::malloc(text.size() + 1));
    if (copy == nullptr) throw std::bad_alloc();
    std::memcpy(copy, text.data(), text.size());
    copy[text.size()] = '\0';
    *out_text = copy;
    if (out_len != nullptr) *out_len = text.size();
  });
}

fathom_status fathom_detokenize(const fathom_model* model, const int32_t* tokens, size_t n_tokens,
                                char** out_text, size_t* out_len) {
  return Guard(__func__, [&] {
    Require(out_text != nullptr, "out_text is NULL");
    *out_text = nullptr;
    const Model& m = GetModel(model);
    RequireTokens(tokens, n_tokens);
    const std::string text =
        Take(m.tokenizer().Decode(std::vector<int32_t>(tokens, tokens + n_tokens)));
    char* copy = static_cast<char*>(std::malloc(text.size() + 1));
    if (copy == nullptr) throw std::bad_alloc();
    std::memcpy(copy, text.data(), text.size());
    copy[text.size()] = '\0';
    *out_text = copy;
    if (out_len != nullptr) *out_len = text.size();
  });
}

fathom_status fathom_detokenizer_create(const fathom_model* model,
                                        fathom_detokenizer** out_detokenizer) {
  return Guard(__func__, [&] {
    Require(out_detokenizer != nullptr, "out_detokenizer is NULL");
    *out_detokenizer = nullptr;
    CheckHandle(model, kModelMagic, "fathom_model");
    auto handle = std::make_unique<fathom_detokenizer>();
    handle->magic = kDetokenizerMagic;
    handle->model = model->model;
    handle->decoder = std::make_unique<StreamingDecoder>(handle->model->tokenizer());
    *out_detokenizer = handle.release();
  });
}

void fathom_detokenizer_free(fathom_detokenizer* detokenizer) {
  Destroy(__func__, detokenizer, kDetokenizerMagic, "fathom_detokenizer");
}

fathom_status fathom_detokenizer_push(fathom_detokenizer* detokenizer, int32_t token,
                                      const char** out_text, size_t* out_len) {
  return Guard(__func__, [&] {
    Require(out_text != nullptr, "out_text is NULL");
    *out_text = nullptr;
    if (out_len != nullptr) *out_len = 0;
    fathom_detokenizer& d = GetDetokenizer(detokenizer);
    d.text = Take(d.decoder->Push(token));
    *out_text = d.text.c_str();
    if (out_len != nullptr) *out_len = d.text.size();
  });
}

fathom_status fathom_detokenizer_flush(fathom_detokenizer* detokenizer, const char** out_text,
                                       size_t* out_len) {
  return Guard(__func__, [&] {
    Require(out_text != nullptr, "out_text is NULL");
    *out_text = nullptr;
    if (out_len != nullptr) *out_len = 0;
    fathom_detokenizer& d = GetDetokenizer(detokenizer);
    d.text = d.decoder->Flush();
    d.decoder = std::make_unique<StreamingDecoder>(d.model->tokenizer());  // a fresh stream
    *out_text = d.text.c_str();
    if (out_len != nullptr) *out_len = d.text.size();
  });
}

// ---- session --------------------------------------------------------------------------------

fathom_status fathom_session_params_init(fathom_session_params* params, size_t struct_size) {
  return Guard(__func__, [&] {
    WriteDefaults(params, DefaultSessionParams(), struct_size, kMinSessionParamsSize,
                  "fathom_session_params");
  });
}

fathom_status fathom_session_create(const fathom_model* model, const fathom_session_params* params,
                                    fathom_session** out_session) {
  return Guard(__func__, [&] {
    Require(out_session != nullptr, "out_session is NULL");
    *out_session = nullptr;
    CheckHandle(model, kModelMagic, "fathom_model");
    const fathom_session_params p =
        ReadParams(params, DefaultSessionParams(), kMinSessionParamsSize, "fathom_session_params");
    Require(p.n_ctx >= 0, "n_ctx must be >= 0");
    Require(p.n_threads >= 0, "n_threads must be >= 0");
    Require(p.n_batch >= 0, "n_batch must be >= 0");
    Require(p.mtp <= 1, "mtp must be 0 or 1");
    for (uint8_t r : p.reserved) Require(r == 0, "reserved must be 0");
    Require(p.context_overflow == FATHOM_CONTEXT_OVERFLOW_ERROR ||
                p.context_overflow == FATHOM_CONTEXT_OVERFLOW_SHIFT,
            "context_overflow must be one of FATHOM_CONTEXT_OVERFLOW_*");
    Require(p.n_keep >= 0, "n_keep must be >= 0");
    SessionOptions options;
    options.n_ctx = p.n_ctx;
    options.n_threads = p.n_threads;
    options.n_batch = p.n_batch;
    options.mtp = p.mtp != 0;
    options.context_overflow = static_cast<ContextOverflow>(p.context_overflow);
    options.n_keep = p.n_keep;
    auto handle = std::make_unique<fathom_session>();
    handle->magic = kSessionMagic;
    handle->session = Take(Session::Create(model->model, options));
    Log(FATHOM_LOG_DEBUG, "session: context of %d tokens", handle->session->n_ctx());
    *out_session = handle.release();
  });
}

void fathom_session_free(fathom_session* session) {
  Destroy(__func__, session, kSessionMagic, "fathom_session");
}

fathom_status fathom_session_reset(fathom_session* session) {
  return Guard(__func__, [&] { Check(GetSession(session).Truncate(0)); });
}

fathom_status fathom_session_truncate(fathom_session* session, int32_t n) {
  return Guard(__func__, [&] { Check(GetSession(session).Truncate(n)); });
}

int32_t fathom_session_position(const fathom_session* session) {
  return GuardValue<int32_t>(__func__, -1, [&] { return GetSession(session).position(); });
}

int32_t fathom_session_n_ctx(const fathom_session* session) {
  return GuardValue<int32_t>(__func__, -1, [&] { return GetSession(session).n_ctx(); });
}

fathom_status fathom_session_evaluate(fathom_session* session, const int32_t* tokens,
                                      size_t n_tokens, uint8_t all_logits) {
  return Guard(__func__, [&] {
    Session& s = GetSession(session);
    RequireTokens(tokens, n_tokens);
    Check(s.Evaluate(std::vector<int32_t>(tokens, tokens + n_tokens), all_logits != 0));
  });
}

fathom_status fathom_session_evaluate_reusing_prefix(fathom_session* session, const int32_t* tokens,
                                                     size_t n_tokens) {
  return Guard(__func__, [&] {
    Session& s = GetSession(session);
    RequireTokens(tokens, n_tokens);
    Require(n_tokens > 0, "n_tokens must be > 0");
    Check(s.EvaluateReusingPrefix(std::vector<int32_t>(tokens, tokens + n_tokens)));
  });
}

fathom_status fathom_session_tokens(const fathom_session* session, int32_t* tokens, size_t capacity,
                                    size_t* out_n_tokens) {
  return Guard(__func__, [&] {
    Require(out_n_tokens != nullptr, "out_n_tokens is NULL");
    const std::vector<int32_t>& ids = GetSession(session).tokens();
    *out_n_tokens = ids.size();
    if (tokens == nullptr) return;
    if (capacity < ids.size()) {
      Failf(FATHOM_STATUS_RESOURCE_EXHAUSTED, "the session holds %zu tokens, the buffer %zu",
            ids.size(), capacity);
    }
    std::copy(ids.begin(), ids.end(), tokens);
  });
}

fathom_status fathom_session_sampler_seed(const fathom_session* session, uint64_t* out_seed) {
  return Guard(__func__, [&] {
    const Session& s = GetSession(session);
    Require(out_seed != nullptr, "out_seed is NULL");
    const std::optional<uint64_t> seed = s.sampler_seed();
    if (!seed.has_value()) {
      Fail(FATHOM_STATUS_FAILED_PRECONDITION,
           "the session carries no sampler yet (no generate or load_state)");
    }
    *out_seed = *seed;
  });
}

int64_t fathom_session_n_evaluated(const fathom_session* session) {
  return GuardValue<int64_t>(__func__, -1, [&] { return GetSession(session).n_evaluated(); });
}

int64_t fathom_session_n_shifted(const fathom_session* session) {
  return GuardValue<int64_t>(__func__, -1, [&] { return GetSession(session).n_shifted(); });
}

int64_t fathom_session_kv_cache_bytes(const fathom_session* session) {
  return GuardValue<int64_t>(__func__, -1, [&] { return GetSession(session).kv_cache_bytes(); });
}

int64_t fathom_session_memory_bytes(const fathom_session* session) {
  return GuardValue<int64_t>(__func__, -1, [&] { return GetSession(session).memory_bytes(); });
}

int32_t fathom_session_n_logits(const fathom_session* session) {
  return GuardValue<int32_t>(__func__, -1, [&] { return GetSession(session).n_logits(); });
}

fathom_status fathom_session_logits(const fathom_session* session, int32_t index,
                                    const float** out_logits, int32_t* out_n_vocab) {
  return Guard(__func__, [&] {
    Require(out_logits != nullptr, "out_logits is NULL");
    *out_logits = nullptr;
    const Session& s = GetSession(session);
    const int32_t rows = s.n_logits();
    if (rows <= 0) Fail(FATHOM_STATUS_FAILED_PRECONDITION, "no logits: evaluate tokens first");
    if (index < -1 || index >= rows) {
      Failf(FATHOM_STATUS_OUT_OF_RANGE, "logits row %d does not exist: the last evaluation kept %d",
            index, rows);
    }
    const float* logits = s.logits(index);
    if (logits == nullptr) Fail(FATHOM_STATUS_INTERNAL, "the session returned no logits");
    *out_logits = logits;
    if (out_n_vocab != nullptr) *out_n_vocab = s.n_vocab();
  });
}

int32_t fathom_session_n_mtp_logits(const fathom_session* session) {
  return GuardValue<int32_t>(__func__, -1, [&] { return GetSession(session).n_mtp_logits(); });
}

int32_t fathom_session_mtp_first_position(const fathom_session* session) {
  return GuardValue<int32_t>(__func__, -1,
                             [&] { return GetSession(session).mtp_first_position(); });
}

fathom_status fathom_session_mtp_logits(const fathom_session* session, int32_t index,
                                        const float** out_logits, int32_t* out_n_vocab) {
  return Guard(__func__, [&] {
    Require(out_logits != nullptr, "out_logits is NULL");
    *out_logits = nullptr;
    const Session& s = GetSession(session);
    const int32_t rows = s.n_mtp_logits();
    if (index < 0 || index >= rows) {
      Failf(FATHOM_STATUS_OUT_OF_RANGE,
            "MTP row %d does not exist: the last evaluation computed %d (is mtp enabled?)", index,
            rows);
    }
    *out_logits = s.mtp_logits(index);
    if (out_n_vocab != nullptr) *out_n_vocab = s.n_vocab();
  });
}

fathom_status fathom_generate_params_init(fathom_generate_params* params, size_t struct_size) {
  return Guard(__func__, [&] {
    WriteDefaults(params, DefaultGenerateParams(), struct_size, kMinGenerateParamsSize,
                  "fathom_generate_params");
  });
}

fathom_status fathom_session_generate(fathom_session* session, const int32_t* prompt,
                                      size_t n_prompt, const fathom_generate_params* params,
                                      int32_t* out_tokens, size_t capacity, size_t* out_n_tokens,
                                      int32_t* out_stop_reason) {
  return Guard(__func__, [&] {
    if (out_n_tokens != nullptr) *out_n_tokens = 0;
    if (out_stop_reason != nullptr) *out_stop_reason = FATHOM_STOP_MAX_TOKENS;
    Session& s = GetSession(session);
    session->speculative = {};
    RequireTokens(prompt, n_prompt);
    const fathom_generate_params p = ReadParams(params, DefaultGenerateParams(),
                                                kMinGenerateParamsSize, "fathom_generate_params");
    Require(p.max_tokens >= 0, "max_tokens must be >= 0");
    for (uint8_t r : p.reserved) Require(r == 0, "reserved must be 0");
    for (uint8_t r : p.reserved2) Require(r == 0, "reserved2 must be 0");
    Require(out_tokens == nullptr || capacity >= static_cast<size_t>(p.max_tokens),
            "out_tokens must hold max_tokens tokens");
    Require(p.stop_at_eog <= 1 && p.evaluate_last <= 1, "stop_at_eog and evaluate_last are 0 or 1");
    Require(p.reasoning <= FATHOM_REASONING_SPLIT_START_INSIDE,
            "reasoning must be one of FATHOM_REASONING_*");

    GenerateOptions options;
    options.max_tokens = p.max_tokens;
    options.sampler = ToSamplerOptions(Chain(p, p.sampler_order, p.n_sampler_order));
    for (const auto& [token, bias] : options.sampler.logit_bias) {
      if (token >= s.n_vocab()) {
        Failf(FATHOM_STATUS_INVALID_ARGUMENT, "logit_bias token %d is outside the vocabulary (%d)",
              token, s.n_vocab());
      }
    }
    options.stop_at_eos = p.stop_at_eog != 0;
    options.evaluate_last = p.evaluate_last != 0;
    Require(p.stop != nullptr || p.n_stop == 0, "stop is NULL");
    Require(p.n_stop <= 1024, "more than 1024 stop strings");
    for (size_t i = 0; i < p.n_stop; ++i) {
      Require(p.stop[i] != nullptr, "a stop string is NULL");
      Require(p.stop[i][0] != '\0', "a stop string is empty");
      options.stop.emplace_back(p.stop[i]);
    }
    options.reasoning = static_cast<ReasoningMode>(p.reasoning);
    if (p.reasoning_open_tag != nullptr) options.reasoning_open_tag = p.reasoning_open_tag;
    if (p.reasoning_close_tag != nullptr) options.reasoning_close_tag = p.reasoning_close_tag;
    Require(p.speculative == FATHOM_SPECULATIVE_NONE || p.speculative == FATHOM_SPECULATIVE_MTP,
            "speculative must be FATHOM_SPECULATIVE_NONE or FATHOM_SPECULATIVE_MTP");
    options.speculative = static_cast<Speculative>(p.speculative);
    options.n_draft = p.n_draft;
    if (p.on_token != nullptr) {
      options.on_token = [&p](int32_t token, const std::string& piece) {
        return p.on_token(p.user_data, token, piece.c_str(), piece.size()) == 0;
      };
    }
    if (p.on_reasoning != nullptr) {
      options.on_reasoning = [&p](int32_t token, const std::string& piece) {
        return p.on_reasoning(p.user_data, token, piece.c_str(), piece.size()) == 0;
      };
    }

    Result<GenerateResult> result =
        s.Generate(std::vector<int32_t>(prompt, prompt + n_prompt), options);
    if (!result.ok() && result.status().code() == StatusCode::kCancelled) {
      // Cancelled before the first token.
      if (out_stop_reason != nullptr) *out_stop_reason = FATHOM_STOP_CANCELLED;
    }
    Check(result.status());
    session->speculative = result->speculative;
    const std::vector<int32_t>& tokens = result->tokens;
    const size_t n = out_tokens == nullptr ? tokens.size() : std::min(tokens.size(), capacity);
    if (out_tokens != nullptr) std::copy(tokens.begin(), tokens.begin() + n, out_tokens);
    if (out_n_tokens != nullptr) *out_n_tokens = n;
    if (out_stop_reason != nullptr) *out_stop_reason = StopReasonCode(result->stop_reason);
    if (result->stop_reason == GenerateResult::StopReason::kCancelled) {
      Fail(FATHOM_STATUS_CANCELLED, "cancelled by fathom_session_cancel");
    }
  });
}

fathom_status fathom_session_save_state(const fathom_session* session, void* buf, size_t capacity,
                                        size_t* out_size) {
  return Guard(__func__, [&] {
    Require(out_size != nullptr, "out_size is NULL");
    *out_size = 0;
    const Session& s = GetSession(session);
    CopyOut(Take(s.SaveState()), buf, capacity, out_size, "session state");
  });
}

fathom_status fathom_session_load_state(fathom_session* session, const void* data, size_t size) {
  return Guard(__func__, [&] {
    Session& s = GetSession(session);
    Require(data != nullptr || size == 0, "data is NULL");
    Check(s.LoadState(std::string_view(static_cast<const char*>(data), size)));
  });
}

fathom_status fathom_session_save_state_file(const fathom_session* session, const char* path) {
  return Guard(__func__, [&] {
    const Session& s = GetSession(session);
    Require(path != nullptr, "path is NULL");
    Check(s.SaveStateToFile(path));
  });
}

fathom_status fathom_session_load_state_file(fathom_session* session, const char* path) {
  return Guard(__func__, [&] {
    Session& s = GetSession(session);
    Require(path != nullptr, "path is NULL");
    Check(s.LoadStateFromFile(path));
  });
}

fathom_status fathom_session_cancel(fathom_session* session) {
  return Guard(__func__, [&] { GetSession(session).Cancel(); });
}

fathom_status fathom_session_speculative_stats(const fathom_session* session,
                                               fathom_speculative_stats* out) {
  return Guard(__func__, [&] {
    GetSession(session);
    Require(out != nullptr, "out is NULL");
    Require(out->struct_size >= offsetof(fathom_speculative_stats, main_forwards) &&
                out->struct_size <= sizeof(fathom_speculative_stats),
            "out->struct_size must be sizeof(fathom_speculative_stats)");
    const SpeculativeStats& s = session->speculative;
    fathom_speculative_stats v{};
    v.struct_size = out->struct_size;
    v.main_forwards = s.main_forwards;
    v.tokens = s.tokens;
    v.drafted = s.drafted;
    v.accepted = s.accepted;
    static_assert(FATHOM_MAX_DRAFT == kMaxDraftTokens);
    for (int d = 0; d < FATHOM_MAX_DRAFT; ++d) {
      v.drafted_at_depth[d] = s.drafted_at_depth[d];
      v.accepted_at_depth[d] = s.accepted_at_depth[d];
    }
    std::memcpy(static_cast<void*>(out), &v, out->struct_size);
  });
}

// ---- sampler --------------------------------------------------------------------------------

fathom_status fathom_sampler_params_init(fathom_sampler_params* params, size_t struct_size) {
  return Guard(__func__, [&] {
    WriteDefaults(params, DefaultSamplerParams(), struct_size, kMinSamplerParamsSize,
                  "fathom_sampler_params");
  });
}

fathom_status fathom_sampler_create(const fathom_sampler_params* params,
                                    fathom_sampler** out_sampler) {
  return Guard(__func__, [&] {
    Require(out_sampler != nullptr, "out_sampler is NULL");
    *out_sampler = nullptr;
    const fathom_sampler_params p =
        ReadParams(params, DefaultSamplerParams(), kMinSamplerParamsSize, "fathom_sampler_params");
    Require(p.reserved == 0, "reserved must be 0");
    const SamplerOptions options = ToSamplerOptions(Chain(p, p.order, p.n_order));
    auto handle = std::make_unique<fathom_sampler>();
    handle->magic = kSamplerMagic;
    handle->sampler = std::make_unique<Sampler>(options);
    *out_sampler = handle.release();
  });
}

void fathom_sampler_free(fathom_sampler* sampler) {
  Destroy(__func__, sampler, kSamplerMagic, "fathom_sampler");
}

fathom_status fathom_sampler_sample(fathom_sampler* sampler, const float* logits, int32_t n_vocab,
                                    int32_t* out_token) {
  return Guard(__func__, [&] {
    Sampler& s = GetSampler(sampler);
    Require(out_token != nullptr, "out_token is NULL");
    Require(logits != nullptr, "logits is NULL");
    Require(n_vocab > 0, "n_vocab must be > 0");
    *out_token = s.Sample(logits, n_vocab);
  });
}

fathom_status fathom_sampler_reseed(fathom_sampler* sampler, uint64_t seed) {
  return Guard(__func__, [&] { GetSampler(sampler).Reseed(seed); });
}

fathom_status fathom_sampler_seed(const fathom_sampler* sampler, uint64_t* out_seed) {
  return Guard(__func__, [&] {
    const Sampler& s = GetSampler(sampler);
    Require(out_seed != nullptr, "out_seed is NULL");
    *out_seed = s.options().seed;
  });
}

fathom_status fathom_sampler_accept(fathom_sampler* sampler, int32_t token) {
  return Guard(__func__, [&] {
    Sampler& s = GetSampler(sampler);
    Require(token >= 0, "token must be >= 0");
    s.Accept(token);
  });
}

fathom_status fathom_sampler_clear_history(fathom_sampler* sampler) {
  return Guard(__func__, [&] { GetSampler(sampler).ClearHistory(); });
}

// ---- logging --------------------------------------------------------------------------------

void fathom_set_log_callback(fathom_log_callback callback, void* user_data) {
  try {
    LogSink& sink = Sink();
    std::unique_lock lock(sink.mutex);
    sink.callback = callback;
    sink.user_data = user_data;
  } catch (...) {
    // std::system_error from the lock: nothing sensible to do without a status to return.
  }
}

fathom_status fathom_set_log_level(int32_t level) {
  return Guard(__func__, [&] {
    if (level < FATHOM_LOG_DEBUG || level > FATHOM_LOG_NONE) {
      Failf(FATHOM_STATUS_INVALID_ARGUMENT, "log level %d is not one of FATHOM_LOG_*", level);
    }
    log_level.store(level, std::memory_order_relaxed);
  });
}

}  // extern "C"
