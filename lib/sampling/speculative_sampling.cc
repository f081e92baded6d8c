// Speculative sampling's acceptance test and residual distribution (see the header).
#include "sampling/speculative_sampling.h"

#include <algorithm>

namespace fathom::internal {

double TokenDistribution::Prob(int32_t id) const {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == id) return probs[i];
  }
  return 0.0;
}

double AcceptanceProbability(const TokenDistribution& p, const TokenDistribution& q,
                             int32_t draft) {
  const double pd = p.Prob(draft), qd = q.Prob(draft);
  if (qd <= 0.0) return pd > 0.0 ? 1.0 : 0.0;  // q never proposes it; kept for completeness
  return std::min(1.0, pd / qd);
}

void ResidualDistribution(const TokenDistribution& p, const TokenDistribution& q,
                          std::vector<double>* scratch, TokenDistribution* out) {
  int32_t max_id = 0;
  for (int32_t id : p.ids) max_id = std::max(max_id, id);
  for (int32_t id : q.ids) max_id = std::max(max_id, id);
  if (scratch->size() <= static_cast<size_t>(max_id)) scratch->resize(max_id + 1, 0.0);
  std::vector<double>& dense = *scratch;
  for (size_t i = 0; i < q.ids.size(); ++i) dense[q.ids[i]] += q.probs[i];
  out->ids.clear();
  out->probs.clear();
  double sum = 0.0;
  for (size_t i = 0; i < p.ids.size(); ++i) {
    const double r = static_cast<double>(p.probs[i]) - dense[p.ids[i]];
    if (r > 0.0) {
      out->ids.push_back(p.ids[i]);
      out->probs.push_back(static_cast<float>(r));
      sum += r;
    }
  }
  for (int32_t id : q.ids) dense[id] = 0.0;
  if (sum <= 0.0) {
    *out = p;
    return;
  }
  for (float& v : out->probs) v = static_cast<float>(v / sum);
}

int32_t DrawToken(const TokenDistribution& d, double u) {
  if (d.ids.empty()) return -1;
  double cum = 0.0;
  for (size_t i = 0; i < d.ids.size(); ++i) {
    cum += d.probs[i];
    if (u < cum) return d.ids[i];
  }
  return d.ids.back();
}

}  // namespace fathom::internal
