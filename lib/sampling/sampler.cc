// fathom::Sampler: logit bias, then the stages of SamplerOptions::order over a candidate list,
// then a seeded draw (or argmax). Defaults follow llama.cpp: penalties, top-k, typical-p, top-p,
// min-p, temperature (so top-p and min-p see the unscaled distribution). Buffers live in the
// sampler, so sampling a token allocates nothing once they have grown to the vocabulary.
#include "fathom/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>
#include <vector>

namespace fathom {

struct Sampler::State {
  SamplerOptions options;
  std::mt19937_64 rng;           // its output sequence (and text form) is fixed by the C++ standard
  std::vector<int32_t> history;  // penalty window (ring buffer when bounded)
  size_t history_next = 0;
  // Candidates: ids and their current (modified) logits, plus scratch.
  std::vector<int32_t> ids;
  std::vector<float> vals;
  std::vector<float> probs;
  std::vector<int32_t> counts;  // per vocabulary id, zero between calls
  std::vector<int32_t> order;
  std::vector<int32_t> ids_tmp;
  std::vector<float> vals_tmp;
};

namespace {

bool PenaltiesActive(const SamplerOptions& o) {
  return o.penalty_last_n != 0 &&
         (o.repeat_penalty != 1.0f || o.frequency_penalty != 0.0f || o.presence_penalty != 0.0f);
}

}  // namespace

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

void Sampler::SetOptions(const SamplerOptions& options) {
  const int32_t old_n = state_->options.penalty_last_n;
  state_->options = options;
  if (old_n != options.penalty_last_n) ClearHistory();
}

void Sampler::ClearHistory() {
  state_->history.clear();
  state_->history_next = 0;
}

void Sampler::Accept(int32_t token) {
  State& s = *state_;
  const int32_t n = s.options.penalty_last_n;
  if (n == 0) return;
  if (n < 0 || s.history.size() < static_cast<size_t>(n)) {
    s.history.push_back(token);
    return;
  }
  s.history[s.history_next] = token;  // overwrite the oldest
  s.history_next = (s.history_next + 1) % s.history.size();
}

std::string Sampler::SaveRngState() const {
  std::ostringstream out;
  out << state_->rng;
  return out.str();
}

bool Sampler::RestoreRngState(std::string_view state) {
  std::istringstream in{std::string(state)};
  std::mt19937_64 rng;
  in >> rng;
  if (in.fail()) return false;
  in >> std::ws;
  if (!in.eof()) return false;
  state_->rng = rng;
  return true;
}

double Sampler::NextUniform() {
  return static_cast<double>(state_->rng() >> 11) * (1.0 / 9007199254740992.0);
}

int32_t Sampler::Sample(const float* logits, int32_t n_vocab) {
  if (n_vocab <= 0) return -1;
  const SamplerOptions& o = state_->options;
  if (o.temperature <= 0.0f && !(PenaltiesActive(o) && !state_->history.empty()) &&
      o.logit_bias.empty()) {
    return static_cast<int32_t>(std::max_element(logits, logits + n_vocab) - logits);
  }
  if (!Candidates(logits, n_vocab)) return state_->ids[0];  // greedy: the argmax alone
  State& s = *state_;
  const double u = NextUniform();
  double cum = 0.0;
  for (size_t i = 0; i < s.ids.size(); ++i) {
    cum += s.probs[i];
    if (u < cum) return s.ids[i];
  }
  return s.ids.back();
}

void Sampler::Distribution(const float* logits, int32_t n_vocab, std::vector<int32_t>* ids,
                           std::vector<float>* probs) {
  ids->clear();
  probs->clear();
  if (n_vocab <= 0) return;
  if (!Candidates(logits, n_vocab)) {
    ids->push_back(state_->ids[0]);
    probs->push_back(1.0f);
    return;
  }
  *ids = state_->ids;
  *probs = state_->probs;
}

// Runs the chain over `logits` into the candidate list. Greedy (temperature <= 0): leaves the
// argmax alone in ids[0] and returns false. Otherwise leaves ids/probs as the distribution to
// draw from and returns true.
bool Sampler::Candidates(const float* logits, int32_t n_vocab) {
  State& s = *state_;
  const SamplerOptions& o = s.options;
  const bool penalties = PenaltiesActive(o) && !s.history.empty();
  const bool greedy = o.temperature <= 0.0f;

  std::vector<int32_t>& ids = s.ids;
  std::vector<float>& vals = s.vals;
  ids.resize(n_vocab);
  std::iota(ids.begin(), ids.end(), 0);
  vals.assign(logits, logits + n_vocab);
  for (const auto& [id, bias] : o.logit_bias) {
    if (id >= 0 && id < n_vocab) vals[id] += bias;
  }
  bool sorted = false;  // candidates in descending value order

  auto apply_penalties = [&] {
    if (!penalties) return;
    if (s.counts.size() < static_cast<size_t>(n_vocab)) s.counts.resize(n_vocab, 0);
    for (int32_t t : s.history) {
      if (t >= 0 && t < n_vocab) ++s.counts[t];
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      const int32_t c = s.counts[ids[i]];
      if (c == 0) continue;
      float& v = vals[i];
      v = v <= 0 ? v * o.repeat_penalty : v / o.repeat_penalty;
      v -= static_cast<float>(c) * o.frequency_penalty + o.presence_penalty;
    }
    for (int32_t t : s.history) {
      if (t >= 0 && t < n_vocab) s.counts[t] = 0;
    }
    sorted = false;
  };
  // Keeps candidates at the given positions (in that order).
  auto keep = [&](const std::vector<int32_t>& positions, size_t n) {
    s.ids_tmp.resize(n);
    s.vals_tmp.resize(n);
    for (size_t i = 0; i < n; ++i) {
      s.ids_tmp[i] = ids[positions[i]];
      s.vals_tmp[i] = vals[positions[i]];
    }
    ids.swap(s.ids_tmp);
    vals.swap(s.vals_tmp);
  };
  auto by_value = [&](int32_t a, int32_t b) {
    return vals[a] > vals[b] || (vals[a] == vals[b] && ids[a] < ids[b]);
  };
  // Sorts (or partially sorts to the first k) the candidates by descending value.
  auto sort_desc = [&](size_t k) {
    std::vector<int32_t>& pos = s.order;
    pos.resize(ids.size());
    std::iota(pos.begin(), pos.end(), 0);
    if (k < pos.size()) {
      std::partial_sort(pos.begin(), pos.begin() + k, pos.end(), by_value);
    } else {
      std::sort(pos.begin(), pos.end(), by_value);
      k = pos.size();
    }
    keep(pos, k);
    sorted = true;
  };
  // probs = softmax(vals) over the current candidates.
  auto softmax = [&] {
    s.probs.resize(ids.size());
    const float max_v = *std::max_element(vals.begin(), vals.end());
    if (!std::isfinite(max_v)) {  // everything banned: all mass on the first candidate
      std::fill(s.probs.begin(), s.probs.end(), 0.0f);
      s.probs[0] = 1.0f;
      return;
    }
    double sum = 0.0;
    for (size_t i = 0; i < ids.size(); ++i) {
      s.probs[i] = std::exp(vals[i] - max_v);
      sum += s.probs[i];
    }
    for (float& p : s.probs) p = static_cast<float>(p / sum);
  };

  if (greedy) {
    apply_penalties();
    ids[0] = ids[std::max_element(vals.begin(), vals.end()) - vals.begin()];
    ids.resize(1);
    return false;
  }

  for (SamplerStage stage : o.order) {
    switch (stage) {
      case SamplerStage::kPenalties:
        apply_penalties();
        break;
      case SamplerStage::kTopK:
        if (o.top_k > 0 && static_cast<size_t>(o.top_k) < ids.size()) {
          sort_desc(static_cast<size_t>(o.top_k));
        }
        break;
      case SamplerStage::kTypicalP: {
        if (o.typical_p >= 1.0f || ids.size() < 2) break;
        softmax();
        double entropy = 0.0;
        for (float p : s.probs) {
          if (p > 0) entropy -= p * std::log(p);
        }
        // Candidates whose surprise is closest to the entropy, until their mass reaches p.
        s.vals_tmp.resize(ids.size());
        for (size_t i = 0; i < ids.size(); ++i) {
          const float p = s.probs[i];
          s.vals_tmp[i] = p > 0 ? static_cast<float>(std::fabs(-std::log(p) - entropy))
                                : std::numeric_limits<float>::infinity();
        }
        std::vector<int32_t>& pos = s.order;
        pos.resize(ids.size());
        std::iota(pos.begin(), pos.end(), 0);
        std::stable_sort(pos.begin(), pos.end(),
                         [&](int32_t a, int32_t b) { return s.vals_tmp[a] < s.vals_tmp[b]; });
        double cum = 0.0;
        size_t n = pos.size();
        for (size_t i = 0; i < pos.size(); ++i) {
          cum += s.probs[pos[i]];
          if (cum > o.typical_p) {
            n = i + 1;
            break;
          }
        }
        keep(pos, n);
        sorted = false;
        break;
      }
      case SamplerStage::kTopP: {
        if (o.top_p >= 1.0f) break;
        if (!sorted) sort_desc(ids.size());
        softmax();
        double cum = 0.0;
        size_t n = ids.size();
        for (size_t i = 0; i < ids.size(); ++i) {
          cum += s.probs[i];
          if (cum >= o.top_p) {
            n = i + 1;
            break;
          }
        }
        ids.resize(n);
        vals.resize(n);
        break;
      }
      case SamplerStage::kMinP: {
        if (o.min_p <= 0.0f || ids.size() < 2) break;
        const float max_v = *std::max_element(vals.begin(), vals.end());
        const float threshold = max_v + std::log(o.min_p);
        size_t n = 0;
        for (size_t i = 0; i < ids.size(); ++i) {
          if (vals[i] >= threshold) {
            ids[n] = ids[i];
            vals[n] = vals[i];
            ++n;
          }
        }
        ids.resize(n);
        vals.resize(n);
        break;
      }
      case SamplerStage::kTemperature: {
        const float inv = 1.0f / o.temperature;
        for (float& v : vals) v *= inv;
        break;
      }
    }
  }
  softmax();
  return true;
}

}  // namespace fathom
