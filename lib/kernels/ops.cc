// Row-wise transformer operations (see ops.h).
#include "kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "kernels/matmul.h"

namespace fathom {

void RmsNorm(const float* x, const float* weight, int64_t n, float eps, float* y) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * weight[i];
}

void SwiGlu(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void Softmax(float* x, int64_t n) {
  if (n <= 0) return;
  const float max_v = *std::max_element(x, x + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_v);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

RopeTable::RopeTable(int n_rot, double base, const std::vector<float>& freq_factors,
                     double position_scale, RopeLayout layout)
    : n_rot_(n_rot), layout_(layout), position_scale_(position_scale) {
  inv_freq_.resize(n_rot / 2);
  for (int i = 0; i < n_rot / 2; ++i) {
    double f = std::pow(base, -2.0 * i / n_rot);
    if (!freq_factors.empty()) f /= freq_factors[i];
    inv_freq_[i] = f;
  }
}

RopeTable::RopeTable(std::vector<double> inv_freq, RopeLayout layout)
    : n_rot_(static_cast<int>(inv_freq.size() * 2)),
      layout_(layout),
      position_scale_(1.0),
      inv_freq_(std::move(inv_freq)) {}

void RopeTable::Angles(int64_t position, float* cos_out, float* sin_out) const {
  const double p = static_cast<double>(position) * position_scale_;
  for (size_t i = 0; i < inv_freq_.size(); ++i) {
    const double theta = p * inv_freq_[i];
    cos_out[i] = static_cast<float>(std::cos(theta));
    sin_out[i] = static_cast<float>(std::sin(theta));
  }
}

void RopeTable::Apply(float* x, int n_heads, int head_dim, const float* cos_v,
                      const float* sin_v) const {
  const int half = n_rot_ / 2;
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<int64_t>(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      const int a = layout_ == RopeLayout::kAdjacentPairs ? 2 * i : i;
      const int b = layout_ == RopeLayout::kAdjacentPairs ? 2 * i + 1 : i + half;
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * cos_v[i] - x1 * sin_v[i];
      v[b] = x0 * sin_v[i] + x1 * cos_v[i];
    }
  }
}

}  // namespace fathom
