// SessionImpl: the state behind fathom::Session, shared by the session's parts (session.cc,
// speculative_decoder.cc).
#ifndef FATHOM_LIB_API_SESSION_IMPL_H_
#define FATHOM_LIB_API_SESSION_IMPL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "api/model_impl.h"
#include "fathom/sampler.h"
#include "fathom/session.h"
#include "models/language_model.h"
#include "runtime/thread_pool.h"

namespace fathom::internal {

class SessionImpl {
 public:
  SessionImpl(std::shared_ptr<const Model> m, std::unique_ptr<ForwardState> s, int n_threads,
              int32_t n_batch)
      : model(std::move(m)), state(std::move(s)), pool(n_threads), n_batch(n_batch) {}

  std::shared_ptr<const Model> model;
  std::unique_ptr<ForwardState> state;
  ThreadPool pool;
  int32_t n_batch;
  std::vector<int32_t> tokens;
  std::vector<float> logits;
  int32_t n_logits = 0;
  std::atomic<bool> cancel{false};
  bool mtp = false;
  int64_t mtp_next = 0;  // MTP cache entries valid below this position
  std::vector<float> mtp_logits;
  int32_t n_mtp_logits = 0;
  int32_t mtp_first = 0;
  ContextOverflow overflow = ContextOverflow::kError;
  int64_t n_keep = 0;
  int64_t n_evaluated = 0;
  int64_t n_shifted = 0;
  // The sampler whose RNG carries over between Generate calls and into saved states.
  Sampler sampler;
  bool sampler_live = false;
  mutable std::optional<uint64_t> fingerprint;

  const LanguageModel& lm() const { return *model->impl().model; }
  Status ShiftContext(int64_t n_discard);
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_API_SESSION_IMPL_H_
