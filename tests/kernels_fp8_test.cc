// Tests of the FP8 (e4m3fn) weight kernels (lib/kernels/fp8): the vector conversion gives the
// scalar table's bits for all 256 codes (NaN codes included); the block-scaled row product agrees
// with its scalar reference and with a double-precision sum; MatMul on block-scaled FP8 weights
// (one token: the fused product; batches: converted rows) agrees with MatMulRef.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/dequant_simd.h"
#include "kernels/fp8.h"
#include "kernels/matmul.h"
#include "runtime/thread_pool.h"
#include "support/random_vector.h"
#include "tensor/quant.h"

namespace fathom {
namespace {

using ::fathom::testing::RandomVector;

// Codes of normally distributed values (a spread of exponents, subnormals and zeros included).
std::vector<uint8_t> RandomCodes(int64_t n, uint32_t seed) {
  const std::vector<float> v = RandomVector(n, seed, 40.0f);
  std::vector<uint8_t> codes(n);
  for (int64_t i = 0; i < n; ++i) codes[i] = F32ToF8E4M3(v[i] * (i % 7 == 0 ? 1e-3f : 1.0f));
  return codes;
}

TEST(Fp8Test, ConversionMatchesTheTableForEveryCode) {
  // Each code at every position of an 8-wide vector and in the scalar tail.
  std::vector<uint8_t> codes;
  for (int rep = 0; rep < 9; ++rep)
    for (int v = 0; v < 256; ++v) codes.push_back(static_cast<uint8_t>(v + rep));
  codes.push_back(0x7F);  // a tail of 3: NaN, -0, the largest negative
  codes.push_back(0x80);
  codes.push_back(0xFE);
  std::vector<float> fast(codes.size());
  ASSERT_TRUE(DequantizeSimd(DType::kF8_E4M3, codes.data(), fast.data(),
                             static_cast<int64_t>(codes.size())));
  for (size_t i = 0; i < codes.size(); ++i) {
    const float want = F8E4M3ToF32(codes[i]);
    EXPECT_EQ(std::memcmp(&want, &fast[i], 4), 0)
        << "code 0x" << std::hex << int{codes[i]} << ": " << want << " vs " << fast[i];
  }
}

TEST(Fp8Test, ScaledDotAgreesWithReference) {
  for (int64_t n : {1, 7, 31, 128, 129, 300, 512, 7168}) {
    const std::vector<uint8_t> w = RandomCodes(n, 1 + static_cast<uint32_t>(n));
    const std::vector<float> x = RandomVector(n, 2);
    std::vector<float> scales = RandomVector((n + 127) / 128, 3, 0.01f);
    for (int pass = 0; pass < 2; ++pass) {
      const float* s = pass == 0 ? scales.data() : nullptr;
      double exact = 0, mag = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double p =
            static_cast<double>(F8E4M3ToF32(w[i])) * x[i] * (s == nullptr ? 1.0 : s[i / 128]);
        exact += p;
        mag += std::fabs(p);
      }
      const float ref = DotF8E4M3ScaledRef(w.data(), x.data(), s, n);
      EXPECT_NEAR(ref, exact, 1e-6 * mag + 1e-30) << "n=" << n;
      for (const float fast : {DotF8E4M3Scaled(w.data(), x.data(), s, n),
                               DotF8E4M3ScaledAvx2(w.data(), x.data(), s, n)}) {
        EXPECT_NEAR(fast, ref, 1e-6 * mag + 1e-30) << "n=" << n << " scales=" << (s != nullptr);
      }
    }
  }
}

TEST(Fp8Test, NaNCodesPropagate) {
  std::vector<uint8_t> w = RandomCodes(256, 9);
  const std::vector<float> x = RandomVector(256, 10);
  w[200] = 0xFF;
  EXPECT_TRUE(std::isnan(DotF8E4M3ScaledRef(w.data(), x.data(), nullptr, 256)));
  EXPECT_TRUE(std::isnan(DotF8E4M3Scaled(w.data(), x.data(), nullptr, 256)));
  EXPECT_TRUE(std::isnan(DotF8E4M3ScaledAvx2(w.data(), x.data(), nullptr, 256)));
}

TEST(Fp8Test, BlockScaledMatMulMatchesReference) {
  // A 300 x 300 slice of a larger matrix (rows start at 128, so the scale rows are offset, and the
  // last column block is partial), one token and batches, 2 threads.
  const int64_t rows = 300, cols = 300, scale_cols = 3;
  const std::vector<uint8_t> codes = RandomCodes(rows * cols, 4);
  const std::vector<float> scales = RandomVector(5 * scale_cols, 5, 0.01f);
  WeightMatrix w;
  w.type = DType::kF8_E4M3;
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = cols;
  w.data = codes.data();
  w.block_scale = scales.data();
  w.scale_cols = scale_cols;
  w.scale_row0 = 128;
  ThreadPool pool(2);
  for (int64_t n_tokens : {1, 2, 5}) {
    const std::vector<float> x = RandomVector(n_tokens * cols, 6);
    std::vector<float> y(n_tokens * rows), y_ref(n_tokens * rows);
    MatMul(w, x.data(), n_tokens, y.data(), pool);
    MatMulRef(w, x.data(), n_tokens, y_ref.data());
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int64_t r = 0; r < rows; ++r) {
        double mag = 0;
        for (int64_t c = 0; c < cols; ++c) {
          mag += std::fabs(static_cast<double>(F8E4M3ToF32(codes[r * cols + c])) * x[t * cols + c] *
                           scales[((128 + r) / 128) * scale_cols + c / 128]);
        }
        const int64_t i = t * rows + r;
        EXPECT_NEAR(y[i], y_ref[i], 1e-6 * mag + 1e-30) << "token " << t << " row " << r;
      }
    }
  }
}

}  // namespace
}  // namespace fathom
