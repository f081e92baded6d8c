// The acceptance rule of speculative sampling (Leviathan et al. 2023, Chen et al. 2023): a draft
// token drawn from the draft distribution q is kept with probability min(1, p/q) under the target
// distribution p; when it is rejected, the replacement is drawn from max(0, p - q) normalised.
// The emitted token is then distributed exactly as p, whatever q was.
#ifndef FATHOM_LIB_SAMPLING_SPECULATIVE_SAMPLING_H_
#define FATHOM_LIB_SAMPLING_SPECULATIVE_SAMPLING_H_

#include <cstdint>
#include <vector>

namespace fathom::internal {

// A distribution over token ids: the candidates a sampler chain leaves, with probabilities
// summing to 1 (Sampler::Distribution).
struct TokenDistribution {
  std::vector<int32_t> ids;
  std::vector<float> probs;

  double Prob(int32_t id) const;  // 0 for a token that is not a candidate
};

// min(1, p(draft) / q(draft)).
double AcceptanceProbability(const TokenDistribution& p, const TokenDistribution& q, int32_t draft);

// max(0, p - q) normalised, into `out`; p itself when that has no mass (p and q equal up to
// rounding, which a rejection cannot produce except through rounding). `scratch` is a buffer the
// call may grow to the largest token id + 1 and leaves all zero.
void ResidualDistribution(const TokenDistribution& p, const TokenDistribution& q,
                          std::vector<double>* scratch, TokenDistribution* out);

// The token at cumulative probability u (0 <= u < 1); the last candidate when rounding leaves
// the sum below u. -1 for an empty distribution.
int32_t DrawToken(const TokenDistribution& d, double u);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_SAMPLING_SPECULATIVE_SAMPLING_H_
