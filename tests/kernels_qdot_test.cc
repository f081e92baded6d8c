// Tests of the integer dot-product kernels (lib/kernels/qdot): every SIMD version returns exactly
// the scalar reference's float; the reference equals the dot product of the dequantized weights and
// dequantized activations (computed independently in double) up to float rounding; the int8
// MatMul equals the reference per row and token, and the exact mode keeps the f32 path.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/matmul.h"
#include "kernels/qdot.h"
#include "runtime/thread_pool.h"
#include "support/random_vector.h"
#include "tensor/quant.h"

namespace fathom {
namespace {

constexpr DType kTypes[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ5_0,   DType::kQ4_1,
                            DType::kQ5_1, DType::kQ2_K, DType::kQ3_K,   DType::kQ4_K,
                            DType::kQ5_K, DType::kQ6_K, DType::kIQ4_NL, DType::kIQ4_XS};

using ::fathom::testing::RandomVector;

std::vector<uint8_t> QuantizeRow(DType type, const std::vector<float>& x) {
  std::vector<uint8_t> q(*RowBytes(type, static_cast<int64_t>(x.size())));
  EXPECT_TRUE(Quantize(type, x.data(), q.data(), static_cast<int64_t>(x.size())).ok());
  return q;
}

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

TEST(QDotTest, SimdEqualsReferenceBitForBit) {
  for (DType type : kTypes) {
    const DType act = QDotActivationType(type);
    ASSERT_NE(act, DType::kF32);
    const int64_t block = Traits(act).block_size;
    for (int64_t blocks : {1, 2, 3, 4, 5, 7, 8, 13, 48}) {
      const int64_t n = blocks * std::max<int64_t>(block, Traits(type).block_size);
      for (uint32_t seed = 1; seed <= 3; ++seed) {
        // Rows with outliers too, so scales and codes cover their ranges.
        std::vector<float> w = RandomVector(n, seed, 0.05f);
        w[seed % n] = 1.5f;
        const std::vector<float> x = RandomVector(n, 100 + seed);
        const std::vector<uint8_t> wq = QuantizeRow(type, w);
        std::vector<uint8_t> xq(*RowBytes(act, n));
        QuantizeActivations(act, x.data(), n, xq.data());
        const float ref = QDotRef(type, wq.data(), xq.data(), n);
        ASSERT_TRUE(std::isfinite(ref));
        for (QDotIsa isa : {QDotIsa::kAvx2, QDotIsa::kAvx512Vnni}) {
          const QDotFn f = GetQDot(type, isa);
          if (f == nullptr) continue;  // the CPU lacks this ISA
          EXPECT_EQ(Bits(f(wq.data(), xq.data(), n)), Bits(ref))
              << Traits(type).name << " " << QDotIsaName(isa) << " n=" << n << " seed=" << seed;
        }
        // The reference is the dot product of what the blocks encode.
        std::vector<float> wd(n), xd(n);
        ASSERT_TRUE(Dequantize(type, wq.data(), wd.data(), n).ok());
        ASSERT_TRUE(Dequantize(act, xq.data(), xd.data(), n).ok());
        double exact = 0, mag = 0;
        for (int64_t i = 0; i < n; ++i) {
          exact += static_cast<double>(wd[i]) * xd[i];
          mag += std::fabs(static_cast<double>(wd[i]) * xd[i]);
        }
        EXPECT_NEAR(ref, exact, 1e-5 * mag + 1e-6) << Traits(type).name << " n=" << n;
      }
    }
  }
}

TEST(QDotTest, ExtremeCodes) {
  // Hand-made blocks at the ends of every code range (including -128 in Q8_0, which no ggml
  // quantizer writes but a file may hold).
  for (DType type : kTypes) {
    const DType act = QDotActivationType(type);
    const int64_t n = 512;
    std::vector<uint8_t> wq(*RowBytes(type, n)), xq(*RowBytes(act, n));
    std::mt19937 rng(7);
    for (uint8_t& b : wq) b = static_cast<uint8_t>(rng());
    // Activation codes are in [-127, 127] (what the activation quantizers produce).
    for (uint8_t& b : xq) b = static_cast<uint8_t>(rng() % 2 ? 0x81 : 0x7F);
    // Keep the float scales finite and small: overwrite them with 1.0 (fp16 0x3C00 / f32).
    const int64_t wbs = Traits(type).type_size, abs = Traits(act).type_size;
    for (int64_t b = 0; b < n / Traits(type).block_size; ++b) {
      uint8_t* blk = wq.data() + b * wbs;
      const uint16_t one = 0x3C00;
      if (type == DType::kQ6_K) {
        std::memcpy(blk + 208, &one, 2);
      } else if (type == DType::kQ2_K) {  // d, dmin after the scales and codes
        std::memcpy(blk + 80, &one, 2);
        std::memcpy(blk + 82, &one, 2);
      } else if (type == DType::kQ3_K) {
        std::memcpy(blk + 108, &one, 2);
      } else {
        std::memcpy(blk, &one, 2);
        if (type == DType::kQ4_K || type == DType::kQ5_K || type == DType::kQ4_1 ||
            type == DType::kQ5_1) {
          std::memcpy(blk + 2, &one, 2);  // dmin / m
        }
      }
    }
    for (int64_t b = 0; b < n / Traits(act).block_size; ++b) {
      uint8_t* blk = xq.data() + b * abs;
      if (act == DType::kQ8_0) {
        const uint16_t one = 0x3C00;
        std::memcpy(blk, &one, 2);
      } else {
        const float one = 1.0f;
        std::memcpy(blk, &one, 4);
        // bsums must be the sums of the codes, as the quantizer writes them.
        for (int j = 0; j < 16; ++j) {
          int16_t s = 0;
          for (int i = 0; i < 16; ++i) s += static_cast<int8_t>(blk[4 + 16 * j + i]);
          std::memcpy(blk + 4 + 256 + 2 * j, &s, 2);
        }
      }
    }
    const float ref = QDotRef(type, wq.data(), xq.data(), n);
    for (QDotIsa isa : {QDotIsa::kAvx2, QDotIsa::kAvx512Vnni}) {
      const QDotFn f = GetQDot(type, isa);
      if (f == nullptr) continue;
      EXPECT_EQ(Bits(f(wq.data(), xq.data(), n)), Bits(ref))
          << Traits(type).name << " " << QDotIsaName(isa);
    }
  }
}

TEST(QDotTest, MatMulUsesTheIntegerKernels) {
  ThreadPool pool(2);
  const int64_t rows = 37, cols = 512;
  for (DType type : kTypes) {
    const std::vector<float> wf = RandomVector(rows * cols, 11, 0.05f);
    std::vector<uint8_t> wq;
    const uint64_t rb = *RowBytes(type, cols);
    wq.resize(rb * rows);
    for (int64_t r = 0; r < rows; ++r) {
      ASSERT_TRUE(Quantize(type, wf.data() + r * cols, wq.data() + r * rb, cols).ok());
    }
    WeightMatrix w;
    w.type = type;
    w.rows = rows;
    w.cols = cols;
    w.row_bytes = rb;
    w.data = wq.data();
    for (int64_t n_tokens : {1, 2, 4, 5}) {
      const std::vector<float> x = RandomVector(n_tokens * cols, 3);
      std::vector<float> y(n_tokens * rows), want(n_tokens * rows);
      SetMatMulMode(MatMulMode::kInt8);
      MatMul(w, x.data(), n_tokens, y.data(), pool);
      const DType act = QDotActivationType(type);
      std::vector<uint8_t> xq(*RowBytes(act, cols));
      for (int64_t t = 0; t < n_tokens; ++t) {
        QuantizeActivations(act, x.data() + t * cols, cols, xq.data());
        for (int64_t r = 0; r < rows; ++r) {
          want[t * rows + r] = QDotRef(type, w.row(r), xq.data(), cols);
        }
      }
      // Every batch size takes the integer kernels in int8 mode, each token exactly as alone.
      for (size_t i = 0; i < y.size(); ++i) {
        ASSERT_EQ(Bits(y[i]), Bits(want[i])) << Traits(type).name << " at " << i;
      }
      // Exact mode: the dequantize-and-dot path, equal to MatMulRef within float rounding.
      SetMatMulMode(MatMulMode::kExact);
      MatMul(w, x.data(), n_tokens, y.data(), pool);
      MatMulRef(w, x.data(), n_tokens, want.data());
      for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], want[i], 1e-4) << i;
    }
  }
  SetMatMulMode(MatMulMode::kInt8);
}

}  // namespace
}  // namespace fathom
