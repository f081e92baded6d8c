// Fast kernels against their scalar references: MatMul vs DotRef for every computable type,
// RoPE layouts, attention vs a naive implementation, MLA latent attention vs its reference.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/attention.h"
#include "kernels/dequant_simd.h"
#include "kernels/latent_attention.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "support/random_vector.h"
#include "tensor/quant.h"

namespace fathom {
namespace {

using ::fathom::testing::RandomVector;

class MatMulTest : public ::testing::TestWithParam<DType> {};

TEST_P(MatMulTest, MatchesScalarReference) {
  const DType type = GetParam();
  const int64_t rows = 37, cols = 512, n_tokens = 3;
  const std::vector<float> w_f32 = RandomVector(rows * cols, 1);
  auto row_bytes = RowBytes(type, cols);
  ASSERT_TRUE(row_bytes.ok());
  std::vector<uint8_t> w_data(*row_bytes * rows);
  for (int64_t r = 0; r < rows; ++r) {
    ASSERT_TRUE(Quantize(type, &w_f32[r * cols], &w_data[r * *row_bytes], cols).ok());
  }
  WeightMatrix w{type, rows, cols, *row_bytes, w_data.data()};
  const std::vector<float> x = RandomVector(n_tokens * cols, 2);
  std::vector<float> y(n_tokens * rows), y_ref(n_tokens * rows);
  ThreadPool pool(2);
  // The exact (dequantize-and-dot) path; the integer kernels that small batches of quantized
  // weights take by default are checked against their own reference in kernels_qdot_test.
  SetMatMulMode(MatMulMode::kExact);
  MatMul(w, x.data(), n_tokens, y.data(), pool);
  SetMatMulMode(MatMulMode::kInt8);
  MatMulRef(w, x.data(), n_tokens, y_ref.data());
  for (size_t i = 0; i < y.size(); ++i) {
    // Both sum the same dequantized products in float, in different orders.
    EXPECT_NEAR(y[i], y_ref[i], 1e-4f * (1.0f + std::fabs(y_ref[i]))) << "at " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatMulTest,
                         ::testing::Values(DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0,
                                           DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                                           DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K,
                                           DType::kQ6_K, DType::kIQ4_NL, DType::kIQ4_XS),
                         [](const auto& info) { return std::string(Traits(info.param).name); });

class DequantSimdTest : public ::testing::TestWithParam<DType> {};

TEST_P(DequantSimdTest, BitIdenticalToScalarReference) {
  const DType type = GetParam();
  const int64_t n = 4096;
  const uint64_t bytes = *RowBytes(type, n);
  std::mt19937 rng(11);
  std::vector<uint8_t> raw(bytes);
  for (uint8_t& b : raw) b = static_cast<uint8_t>(rng());
  // Keep fp16/bf16 scales finite so that NaN != NaN does not hide a mismatch.
  std::vector<float> ref(n), fast(n);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt == 1) {
      const std::vector<float> src = RandomVector(n, 12);
      ASSERT_TRUE(Quantize(type, src.data(), raw.data(), n).ok());
    }
    ASSERT_TRUE(Dequantize(type, raw.data(), ref.data(), n).ok());
    ASSERT_TRUE(DequantizeSimd(type, raw.data(), fast.data(), n));
    for (int64_t i = 0; i < n; ++i) {
      if (std::isnan(ref[i])) {
        EXPECT_TRUE(std::isnan(fast[i])) << i;
      } else {
        EXPECT_EQ(std::memcmp(&ref[i], &fast[i], 4), 0)
            << "element " << i << ": " << ref[i] << " vs " << fast[i];
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(VectorTypes, DequantSimdTest,
                         ::testing::Values(DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0,
                                           DType::kQ4_K, DType::kQ6_K),
                         [](const auto& info) { return std::string(Traits(info.param).name); });

TEST(MatMulTest, SameResultForAnyThreadCount) {
  const int64_t rows = 300, cols = 256;
  const std::vector<float> w = RandomVector(rows * cols, 3);
  const std::vector<float> x = RandomVector(2 * cols, 4);
  WeightMatrix m{DType::kF32, rows, cols, cols * 4, reinterpret_cast<const uint8_t*>(w.data())};
  std::vector<float> y1(2 * rows), y2(2 * rows);
  ThreadPool p1(1), p3(3);
  MatMul(m, x.data(), 2, y1.data(), p1);
  MatMul(m, x.data(), 2, y2.data(), p3);
  EXPECT_EQ(y1, y2);
}

TEST(RopeTest, AdjacentAndNeoxPairs) {
  RopeTable adj(4, 10000.0, {}, 1.0, RopeLayout::kAdjacentPairs);
  RopeTable neox(4, 10000.0, {}, 1.0, RopeLayout::kNeox);
  float c[2], s[2];
  adj.Angles(3, c, s);
  EXPECT_FLOAT_EQ(c[0], std::cos(3.0f));
  EXPECT_NEAR(s[1], std::sin(3.0 * std::pow(10000.0, -0.5)), 1e-7);
  float a[4] = {1, 2, 3, 4};
  adj.Apply(a, 1, 4, c, s);
  EXPECT_NEAR(a[0], 1 * c[0] - 2 * s[0], 1e-6);
  EXPECT_NEAR(a[1], 1 * s[0] + 2 * c[0], 1e-6);
  float b[4] = {1, 2, 3, 4};
  neox.Apply(b, 1, 4, c, s);
  EXPECT_NEAR(b[0], 1 * c[0] - 3 * s[0], 1e-6);
  EXPECT_NEAR(b[2], 1 * s[0] + 3 * c[0], 1e-6);
}

TEST(RopeTest, FrequencyFactorsDivideFrequencies) {
  RopeTable plain(4, 500000.0, {}, 1.0, RopeLayout::kAdjacentPairs);
  RopeTable scaled(4, 500000.0, {1.0f, 8.0f}, 1.0, RopeLayout::kAdjacentPairs);
  float c1[2], s1[2], c2[2], s2[2];
  plain.Angles(80, c1, s1);
  scaled.Angles(640, c2, s2);  // theta(640)/8 == theta(80) for the second frequency
  EXPECT_NEAR(c2[1], c1[1], 1e-5);
  EXPECT_NEAR(s2[1], s1[1], 1e-5);
}

TEST(AttentionTest, MatchesNaiveGqa) {
  AttentionShape s{4, 2, 8, 8, 0.35f};
  const int64_t pos0 = 5, n_tokens = 3, n_pos = pos0 + n_tokens;
  const auto q = RandomVector(n_tokens * 4 * 8, 5);
  const auto k = RandomVector(n_pos * 2 * 8, 6);
  const auto v = RandomVector(n_pos * 2 * 8, 7);
  std::vector<float> out(n_tokens * 4 * 8);
  ThreadPool pool(2);
  CausalAttention(s, q.data(), n_tokens, pos0, k.data(), v.data(), out.data(), pool);
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int h = 0; h < 4; ++h) {
      const int kvh = h / 2;
      std::vector<double> w;
      double mx = -1e30;
      for (int64_t j = 0; j <= pos0 + t; ++j) {
        double d = 0;
        for (int i = 0; i < 8; ++i) d += q[(t * 4 + h) * 8 + i] * k[(j * 2 + kvh) * 8 + i];
        w.push_back(d * s.scale);
        mx = std::max(mx, w.back());
      }
      double sum = 0;
      for (double& x : w) sum += (x = std::exp(x - mx));
      for (int i = 0; i < 8; ++i) {
        double o = 0;
        for (size_t j = 0; j < w.size(); ++j) o += w[j] / sum * v[(j * 2 + kvh) * 8 + i];
        EXPECT_NEAR(out[(t * 4 + h) * 8 + i], o, 1e-5);
      }
    }
  }
}

TEST(LatentAttentionTest, MatchesReference) {
  // Head counts around the 4-head groups, key counts around the 4-key tiles, latent widths that
  // are and are not multiples of the vector slices (V2/V3: 512 and 64), strided q_pe.
  struct Case {
    int64_t heads, lora, rope, n_keys;
  };
  // Key counts past 512 are attended in merged pieces (1100: 3 pieces, 9000: the 16-piece cap).
  const Case cases[] = {{16, 512, 64, 1},   {16, 512, 64, 7}, {16, 512, 64, 300}, {5, 512, 64, 33},
                        {3, 96, 16, 9},     {4, 40, 8, 2},    {1, 512, 64, 4096}, {2, 24, 4, 5},
                        {6, 512, 64, 1100}, {2, 40, 8, 9000}};
  uint32_t seed = 7;
  for (const Case& c : cases) {
    const int64_t q_pe_stride = c.rope + 11;
    const std::vector<float> q_lat = RandomVector(c.heads * c.lora, ++seed);
    const std::vector<float> q_pe = RandomVector(c.heads * q_pe_stride, ++seed);
    const std::vector<float> c_kv = RandomVector(c.n_keys * c.lora, ++seed, 0.3f);
    const std::vector<float> k_pe = RandomVector(c.n_keys * c.rope, ++seed, 0.3f);
    LatentAttentionShape s;
    s.heads = c.heads;
    s.lora = c.lora;
    s.rope = c.rope;
    s.n_keys = c.n_keys;
    s.scale = 1.0f / std::sqrt(static_cast<float>(c.lora));
    std::vector<float> want(c.heads * c.lora), got(c.heads * c.lora, -1.0f),
        scratch(LatentAttentionScratchFloats(s));
    LatentAttentionRef(s, q_lat.data(), q_pe.data(), q_pe_stride, c_kv.data(), k_pe.data(),
                       want.data());
    std::vector<float> avx2(c.heads * c.lora, -1.0f);
    LatentAttentionAvx2(s, q_lat.data(), q_pe.data(), q_pe_stride, c_kv.data(), k_pe.data(),
                        avx2.data(), scratch.data());
    LatentAttention(s, q_lat.data(), q_pe.data(), q_pe_stride, c_kv.data(), k_pe.data(), got.data(),
                    scratch.data());
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(got[i], want[i], 1e-5f + 1e-4f * std::fabs(want[i]))
          << "heads=" << c.heads << " lora=" << c.lora << " keys=" << c.n_keys << " at " << i;
      ASSERT_NEAR(avx2[i], want[i], 1e-5f + 1e-4f * std::fabs(want[i]))
          << "avx2 heads=" << c.heads << " lora=" << c.lora << " keys=" << c.n_keys << " at " << i;
    }
    // A head's result does not depend on the heads computed with it (batch invariance).
    std::vector<float> one(c.lora);
    for (int64_t h = 0; h < c.heads; ++h) {
      LatentAttentionShape s1 = s;
      s1.heads = 1;
      std::vector<float> one_scratch(LatentAttentionScratchFloats(s1));
      LatentAttention(s1, q_lat.data() + h * c.lora, q_pe.data() + h * q_pe_stride, q_pe_stride,
                      c_kv.data(), k_pe.data(), one.data(), one_scratch.data());
      ASSERT_EQ(0, std::memcmp(one.data(), got.data() + h * c.lora, c.lora * sizeof(float)))
          << "head " << h;
    }
  }
}

TEST(LatentAttentionTest, PiecesCoverTheKeysInOrder) {
  int64_t begin = -1, end = -1;
  EXPECT_EQ(LatentAttentionPieces(0), 1);
  LatentAttentionPieceRange(0, 0, &begin, &end);
  EXPECT_EQ(begin, 0);
  EXPECT_EQ(end, 0);
  for (int64_t n_keys : {1, 63, 64, 512, 513, 1000, 1025, 4096, 7681, 8192, 8193, 100000}) {
    const int64_t pieces = LatentAttentionPieces(n_keys);
    EXPECT_LE(pieces, LatentAttentionMaxPieces(n_keys)) << n_keys;
    EXPECT_LE(pieces, LatentAttentionMaxPieces(n_keys + 5000)) << n_keys;
    EXPECT_EQ(pieces > 1, n_keys > 512) << n_keys;
    int64_t next = 0;
    for (int64_t p = 0; p < pieces; ++p) {
      LatentAttentionPieceRange(n_keys, p, &begin, &end);
      EXPECT_EQ(begin, next) << n_keys << " piece " << p;
      EXPECT_GT(end, begin) << n_keys << " piece " << p;
      if (p + 1 < pieces) {
        EXPECT_EQ(end % 64, 0) << n_keys << " piece " << p;  // pieces end on whole key blocks
      }
      next = end;
    }
    EXPECT_EQ(next, n_keys);
  }
}

TEST(LatentAttentionTest, PiecesSpreadOverThreadsMatchOneCall) {
  // What MLA decode does on several threads: each piece of the keys for a group of heads, then
  // the merge per head; bit for bit what one LatentAttention call gives.
  const int64_t heads = 9, lora = 512, rope = 64, n_keys = 2100, q_pe_stride = rope + 3;
  const std::vector<float> q_lat = RandomVector(heads * lora, 101);
  const std::vector<float> q_pe = RandomVector(heads * q_pe_stride, 102);
  const std::vector<float> c_kv = RandomVector(n_keys * lora, 103, 0.3f);
  const std::vector<float> k_pe = RandomVector(n_keys * rope, 104, 0.3f);
  LatentAttentionShape s;
  s.heads = heads;
  s.lora = lora;
  s.rope = rope;
  s.n_keys = n_keys;
  s.scale = 0.07f;
  std::vector<float> want(heads * lora), scratch(LatentAttentionScratchFloats(s));
  LatentAttention(s, q_lat.data(), q_pe.data(), q_pe_stride, c_kv.data(), k_pe.data(), want.data(),
                  scratch.data());
  const int64_t pieces = LatentAttentionPieces(n_keys);
  ASSERT_GT(pieces, 1);
  std::vector<float> outs(pieces * heads * lora), maxes(pieces * heads), sums(pieces * heads);
  std::vector<float> scores(heads * 64), got(heads * lora);
  for (int64_t p = pieces - 1; p >= 0; --p) {  // any order
    int64_t begin, end;
    LatentAttentionPieceRange(n_keys, p, &begin, &end);
    for (int64_t h0 = 0; h0 < heads;) {  // head groups of 4, then 1, 4, ...
      const int64_t h1 = std::min(heads, h0 + (h0 % 5 == 0 ? 4 : 1));
      LatentAttentionShape piece = s;
      piece.heads = h1 - h0;
      piece.n_keys = end - begin;
      LatentAttentionPartial(piece, &q_lat[h0 * lora], &q_pe[h0 * q_pe_stride], q_pe_stride,
                             &c_kv[begin * lora], &k_pe[begin * rope],
                             &outs[(p * heads + h0) * lora], &maxes[p * heads + h0],
                             &sums[p * heads + h0], scores.data());
      h0 = h1;
    }
  }
  for (int64_t h0 = 0; h0 < heads; h0 += 2) {
    const int64_t h1 = std::min(heads, h0 + 2);
    MergeLatentPartials(h1 - h0, lora, pieces, &outs[h0 * lora], heads * lora, &maxes[h0],
                        &sums[h0], heads, &got[h0 * lora]);
  }
  EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)));
}

TEST(OpsTest, RmsNormAndSwiGlu) {
  const float x[4] = {1, -2, 3, -4};
  const float w[4] = {1, 1, 2, 0.5f};
  float y[4];
  RmsNorm(x, w, 4, 0.0f, y);
  const float inv = 1.0f / std::sqrt(30.0f / 4);
  EXPECT_NEAR(y[2], 3 * inv * 2, 1e-6);
  float g[2] = {0.5f, -1.0f};
  const float u[2] = {2.0f, 3.0f};
  SwiGlu(g, u, 2, g);
  EXPECT_NEAR(g[0], 0.5f / (1 + std::exp(-0.5f)) * 2, 1e-6);
}

}  // namespace
}  // namespace fathom
