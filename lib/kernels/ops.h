// Element-wise and row-wise operations of transformer blocks: RMSNorm, RoPE, SwiGLU, softmax.
#ifndef FATHOM_LIB_KERNELS_OPS_H_
#define FATHOM_LIB_KERNELS_OPS_H_

#include <cstdint>
#include <vector>

namespace fathom {

// y = x / sqrt(mean(x^2) + eps) * weight, over rows of length n. y may alias x.
void RmsNorm(const float* x, const float* weight, int64_t n, float eps, float* y);

// out[i] = silu(gate[i]) * up[i]; out may alias gate.
void SwiGlu(const float* gate, const float* up, int64_t n, float* out);

// In-place softmax over n values.
void Softmax(float* x, int64_t n);

// Rotary position embedding of one head vector (the first n_rot of its dimensions).
enum class RopeLayout {
  kAdjacentPairs,  // (x[2i], x[2i+1]): llama.cpp's NORM, DeepSeek's reference
  kNeox,           // (x[i], x[i + n_rot/2]): GPT-NeoX / Qwen2
};

class RopeTable {
 public:
  // inv_freq[i] = base^(-2i/n_rot) / freq_factors[i] (factors optional), positions scaled by
  // `position_scale` (linear rope scaling = 1/factor).
  RopeTable(int n_rot, double base, const std::vector<float>& freq_factors, double position_scale,
            RopeLayout layout);
  // Explicit inverse frequencies (n_rot/2 of them), e.g. YaRN-corrected.
  RopeTable(std::vector<double> inv_freq, RopeLayout layout);
  int n_rot() const { return n_rot_; }
  // Fills cos/sin (n_rot/2 each) for a position.
  void Angles(int64_t position, float* cos_out, float* sin_out) const;
  // Rotates `n_heads` vectors of `head_dim` at `x` (stride head_dim) with precomputed angles.
  void Apply(float* x, int n_heads, int head_dim, const float* cos_v, const float* sin_v) const;

 private:
  int n_rot_;
  RopeLayout layout_;
  double position_scale_;
  std::vector<double> inv_freq_;
};

}  // namespace fathom

#endif  // FATHOM_LIB_KERNELS_OPS_H_
