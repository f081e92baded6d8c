// fathom::Sampler: top-k -> top-p -> temperature -> seeded draw, in llama.cpp's default order
// (top-p sees the softmax of the unscaled logits); temperature <= 0 is argmax.
#include "fathom/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

namespace fathom {

struct Sampler::State {
  SamplerOptions options;
  std::mt19937_64 rng;  // its output sequence is fixed by the C++ standard
  std::vector<int32_t> ids;
  std::vector<float> probs;
};

Sampler::Sampler(const SamplerOptions& options) : state_(std::make_unique<State>()) {
  state_->options = options;
  state_->rng.seed(options.seed);
}
Sampler::~Sampler() = default;
Sampler::Sampler(Sampler&&) noexcept = default;
Sampler& Sampler::operator=(Sampler&&) noexcept = default;

const SamplerOptions& Sampler::options() const { return state_->options; }
void Sampler::Reseed(uint64_t seed) {
  state_->options.seed = seed;
  state_->rng.seed(seed);
}

int32_t Sampler::Sample(const float* logits, int32_t n_vocab) {
  if (n_vocab <= 0) return -1;
  const SamplerOptions& o = state_->options;
  if (o.temperature <= 0.0f) {
    return static_cast<int32_t>(std::max_element(logits, logits + n_vocab) - logits);
  }
  std::vector<int32_t>& ids = state_->ids;
  ids.resize(n_vocab);
  std::iota(ids.begin(), ids.end(), 0);
  auto by_logit = [logits](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  size_t n = ids.size();
  if (o.top_k > 0 && static_cast<size_t>(o.top_k) < n) {
    n = static_cast<size_t>(o.top_k);
    std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), by_logit);
  } else {
    std::sort(ids.begin(), ids.end(), by_logit);
  }
  ids.resize(n);
  std::vector<float>& probs = state_->probs;
  auto softmax = [&](float inv_temp) {
    probs.resize(ids.size());
    const float max_l = logits[ids[0]];
    double sum = 0.0;
    for (size_t i = 0; i < ids.size(); ++i) {
      probs[i] = std::exp((logits[ids[i]] - max_l) * inv_temp);
      sum += probs[i];
    }
    for (float& p : probs) p = static_cast<float>(p / sum);
  };
  if (o.top_p < 1.0f) {
    softmax(1.0f);
    double cum = 0.0;
    size_t keep = ids.size();
    for (size_t i = 0; i < ids.size(); ++i) {
      cum += probs[i];
      if (cum >= o.top_p) {
        keep = i + 1;
        break;
      }
    }
    ids.resize(keep);
  }
  softmax(1.0f / o.temperature);
  // A uniform double in [0, 1) from 53 random bits (no implementation-defined distribution).
  const double u = static_cast<double>(state_->rng() >> 11) * (1.0 / 9007199254740992.0);
  double cum = 0.0;
  for (size_t i = 0; i < ids.size(); ++i) {
    cum += probs[i];
    if (u < cum) return ids[i];
  }
  return ids.back();
}

}  // namespace fathom
