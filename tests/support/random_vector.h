// Normally distributed test inputs from a fixed seed.
#ifndef FATHOM_TESTS_SUPPORT_RANDOM_VECTOR_H_
#define FATHOM_TESTS_SUPPORT_RANDOM_VECTOR_H_

#include <cstdint>
#include <random>
#include <vector>

namespace fathom::testing {

// n values drawn from N(0, scale^2) with std::mt19937(seed).
inline std::vector<float> RandomVector(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

}  // namespace fathom::testing

#endif  // FATHOM_TESTS_SUPPORT_RANDOM_VECTOR_H_
