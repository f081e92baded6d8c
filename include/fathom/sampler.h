// fathom::Sampler: picks the next token from logits (temperature, top-k, top-p, seeded RNG,
// greedy).
#ifndef FATHOM_SAMPLER_H_
#define FATHOM_SAMPLER_H_

#include <cstdint>
#include <memory>

namespace fathom {

struct SamplerOptions {
  float temperature = 0.8f;  // <= 0 means greedy (argmax)
  int32_t top_k = 40;        // <= 0 disables
  float top_p = 0.95f;       // >= 1 disables
  uint64_t seed = 0xF47A0;   // same seed + same logits = same tokens
};

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& options = {});
  ~Sampler();
  Sampler(Sampler&&) noexcept;
  Sampler& operator=(Sampler&&) noexcept;

  // Samples from `n_vocab` logits; the logits are not modified.
  int32_t Sample(const float* logits, int32_t n_vocab);
  void Reseed(uint64_t seed);
  const SamplerOptions& options() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace fathom

#endif  // FATHOM_SAMPLER_H_
