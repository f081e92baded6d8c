// fathom::Sampler: picks the next token from logits with a configurable chain (logit bias,
// repetition/frequency/presence penalties over a window, top-k, typical-p, top-p, min-p,
// temperature) and a seeded RNG, or greedily.
#ifndef FATHOM_SAMPLER_H_
#define FATHOM_SAMPLER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fathom {

// The stages of the chain, applied in SamplerOptions::order. Logit bias always comes first and
// the seeded draw (or argmax, with temperature <= 0) last.
enum class SamplerStage : int32_t {
  kPenalties = 0,
  kTopK = 1,
  kTypicalP = 2,
  kTopP = 3,
  kMinP = 4,
  kTemperature = 5,
};

struct SamplerOptions {
  float temperature = 0.8f;  // <= 0 means greedy (argmax after bias and penalties)
  int32_t top_k = 40;        // <= 0 disables
  float top_p = 0.95f;       // >= 1 disables
  uint64_t seed = 0xF47A0;   // same seed + same logits = same tokens
  float min_p = 0.05f;       // keep tokens with p >= min_p * p(best); <= 0 disables
  float typical_p = 1.0f;    // locally typical sampling; >= 1 disables
  // Penalties over the last `penalty_last_n` tokens of the context (prompt included); 0
  // disables them, -1 means the whole context. llama.cpp's rules: a seen token's logit is divided
  // by repeat_penalty when positive and multiplied when negative, then it loses
  // count * frequency_penalty + presence_penalty.
  int32_t penalty_last_n = 64;
  float repeat_penalty = 1.0f;  // 1 disables
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  // Added to the logits of these tokens before anything else (-infinity bans a token).
  std::vector<std::pair<int32_t, float>> logit_bias = {};
  // llama.cpp's default order.
  std::vector<SamplerStage> order = {SamplerStage::kPenalties, SamplerStage::kTopK,
                                     SamplerStage::kTypicalP,  SamplerStage::kTopP,
                                     SamplerStage::kMinP,      SamplerStage::kTemperature};
};

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& options = {});
  ~Sampler();
  Sampler(Sampler&&) noexcept;
  Sampler& operator=(Sampler&&) noexcept;

  // Samples from `n_vocab` logits; the logits are not modified. Does not record the token in
  // the penalty window (call Accept).
  int32_t Sample(const float* logits, int32_t n_vocab);
  // The distribution Sample draws from for these logits (after bias, penalties, the truncating
  // stages and temperature): candidate `ids` with `probs` summing to 1; with temperature <= 0
  // the argmax alone with probability 1. Consumes no randomness. Speculative decoding compares
  // the target's and the draft's distributions with it.
  void Distribution(const float* logits, int32_t n_vocab, std::vector<int32_t>* ids,
                    std::vector<float>* probs);
  // The next uniform number in [0, 1) from the sampler's RNG (53 random bits), the draw Sample
  // uses.
  double NextUniform();
  // Appends a token to the penalty window (prompt tokens and generated tokens alike).
  void Accept(int32_t token);
  void ClearHistory();
  void Reseed(uint64_t seed);
  // Replaces the options but keeps the RNG's position (and the penalty window).
  void SetOptions(const SamplerOptions& options);
  const SamplerOptions& options() const;

  // The RNG's exact state as bytes, and its restoration (false when `state` is malformed).
  std::string SaveRngState() const;
  bool RestoreRngState(std::string_view state);

 private:
  bool Candidates(const float* logits, int32_t n_vocab);
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace fathom

#endif  // FATHOM_SAMPLER_H_
