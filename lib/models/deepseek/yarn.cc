// YaRN: a linear ramp over the frequency indices between the correction dims of beta_fast and
// beta_slow blends interpolated (freq / factor) and original frequencies.
#include "models/deepseek/yarn.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace fathom::internal {
namespace {

double CorrectionDim(double rotations, double dim, double base, double original_len) {
  return dim * std::log(original_len / (rotations * 2.0 * std::numbers::pi)) /
         (2.0 * std::log(base));
}

}  // namespace

std::vector<double> DeepSeekRopeInvFreq(const DeepSeekConfig& c) {
  const int64_t d = c.qk_rope_head_dim;
  std::vector<double> inv(d / 2);
  for (int64_t j = 0; j < d / 2; ++j) {
    inv[j] = 1.0 / std::pow(c.rope_theta, static_cast<double>(2 * j) / static_cast<double>(d));
  }
  if (!c.yarn || c.yarn_factor <= 1.0) return inv;
  const double orig = static_cast<double>(c.yarn_original_max_position);
  double low = std::floor(CorrectionDim(c.yarn_beta_fast, d, c.rope_theta, orig));
  double high = std::ceil(CorrectionDim(c.yarn_beta_slow, d, c.rope_theta, orig));
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(d - 1));
  if (low == high) high += 0.001;
  for (int64_t j = 0; j < d / 2; ++j) {
    const double ramp = std::clamp((static_cast<double>(j) - low) / (high - low), 0.0, 1.0);
    inv[j] = inv[j] / c.yarn_factor * ramp + inv[j] * (1.0 - ramp);
  }
  return inv;
}

double DeepSeekSoftmaxScale(const DeepSeekConfig& c) {
  double scale = 1.0 / std::sqrt(static_cast<double>(c.qk_head_dim()));
  if (c.yarn && c.yarn_factor > 1.0 && c.yarn_mscale_all_dim > 0.0) {
    const double m = 0.1 * c.yarn_mscale_all_dim * std::log(c.yarn_factor) + 1.0;
    scale *= m * m;
  }
  return scale;
}

}  // namespace fathom::internal
