// Tests of the batched integer products (lib/kernels/qgemm): every version (scalar, AVX2,
// AVX-512 VNNI tiles) returns for every row and token exactly QDotRef's float, for random and
// extreme blocks, shapes that are not multiples of the tiles and 1..70 tokens; MatMul's int8 mode
// gives each token of a batch exactly its one-token result; the fast activation quantizers write
// the reference quantizers' bytes. The interleaved weight layout keeps every byte (rows read
// back exactly) and its products are the same bits as the row layout's.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/interleave.h"
#include "kernels/matmul.h"
#include "kernels/qact.h"
#include "kernels/qdot.h"
#include "kernels/qgemm.h"
#include "runtime/thread_pool.h"
#include "tensor/quant.h"

namespace fathom {
namespace {

constexpr DType kTypes[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ5_0,
                            DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};
constexpr QDotIsa kIsas[] = {QDotIsa::kScalar, QDotIsa::kAvx2, QDotIsa::kAvx512Vnni};

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

bool CpuHas(QDotIsa isa) { return GetQDot(DType::kQ8_0, isa) != nullptr; }

struct Matrix {
  std::vector<uint8_t> data;
  uint64_t row_bytes = 0;
};

// Quantized random rows with an outlier per row (so scales and codes cover their ranges).
Matrix RandomWeights(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  Matrix m;
  m.row_bytes = *RowBytes(type, cols);
  m.data.resize(m.row_bytes * rows);
  std::vector<float> row(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (float& v : row) v = dist(rng);
    row[rng() % cols] = (rng() % 2 ? 1.0f : -1.0f) * (0.5f + static_cast<float>(r % 7));
    EXPECT_TRUE(Quantize(type, row.data(), m.data.data() + r * m.row_bytes, cols).ok());
  }
  return m;
}

// Random bytes everywhere (every code, every 6-bit scale, Q8_0's -128, Q6_K's negative scales),
// with the fp16 scales overwritten by small finite values.
Matrix ExtremeWeights(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  Matrix m;
  m.row_bytes = *RowBytes(type, cols);
  m.data.resize(m.row_bytes * rows);
  for (uint8_t& b : m.data) b = static_cast<uint8_t>(rng());
  const int64_t bs = Traits(type).type_size;
  const uint16_t halves[] = {0x3C00, 0x2E66, 0xB800, 0x1400};  // 1, 0.1, -0.5, ~1e-3
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < cols / Traits(type).block_size; ++b) {
      uint8_t* blk = m.data.data() + r * m.row_bytes + b * bs;
      const uint16_t d = halves[rng() % 4], dmin = halves[rng() % 4];
      if (type == DType::kQ6_K) {
        std::memcpy(blk + 208, &d, 2);
      } else {
        std::memcpy(blk, &d, 2);
        if (type == DType::kQ4_K || type == DType::kQ5_K) std::memcpy(blk + 2, &dmin, 2);
      }
    }
  }
  return m;
}

// `m` as a WeightMatrix of rows x cols elements of `type` (row layout).
WeightMatrix View(DType type, const Matrix& m, int64_t rows, int64_t cols) {
  WeightMatrix w;
  w.type = type;
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = m.row_bytes;
  w.data = m.data.data();
  return w;
}

// Each token's activations quantized, tokens of different magnitudes; `extreme` puts +-127
// codes everywhere.
std::vector<uint8_t> Activations(DType act, int64_t n_tokens, int64_t cols, uint32_t seed,
                                 bool extreme, uint64_t* stride) {
  std::mt19937 rng(seed);
  *stride = *RowBytes(act, cols);
  std::vector<uint8_t> xq(*stride * n_tokens);
  std::vector<float> x(cols);
  for (int64_t t = 0; t < n_tokens; ++t) {
    std::normal_distribution<float> dist(0.0f, 0.1f + static_cast<float>(t % 5));
    for (int64_t c = 0; c < cols; ++c) {
      x[c] = extreme ? (rng() % 2 ? 3.0f : -3.0f) : dist(rng);
    }
    QuantizeActivations(act, x.data(), cols, xq.data() + t * *stride);
  }
  return xq;
}

void ExpectMatchesReference(DType type, const Matrix& w, int64_t rows, int64_t cols,
                            const std::vector<uint8_t>& xq, uint64_t stride, int64_t n_tokens,
                            const char* what) {
  // Reference per row and token.
  std::vector<float> want(n_tokens * rows);
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      want[t * rows + r] =
          QDotRef(type, w.data.data() + r * w.row_bytes, xq.data() + t * stride, cols);
      ASSERT_TRUE(std::isfinite(want[t * rows + r]));
    }
  }
  for (QDotIsa isa : kIsas) {
    if (!CpuHas(isa)) continue;
    // A wider output (stride rows + 3) filled with a sentinel: only the rows x tokens are written.
    const int64_t y_stride = rows + 3;
    std::vector<float> y(n_tokens * y_stride, -7.0f);
    ASSERT_TRUE(QGemm(isa, type, w.data.data(), w.row_bytes, rows, cols, xq.data(), stride,
                      n_tokens, y.data(), y_stride));
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int64_t r = 0; r < y_stride; ++r) {
        const float got = y[t * y_stride + r];
        if (r >= rows) {
          ASSERT_EQ(got, -7.0f) << "wrote outside the rows";
          continue;
        }
        ASSERT_EQ(Bits(got), Bits(want[t * rows + r]))
            << Traits(type).name << " " << QDotIsaName(isa) << " " << what << " rows=" << rows
            << " cols=" << cols << " tokens=" << n_tokens << " at r=" << r << " t=" << t << ": "
            << got << " vs " << want[t * rows + r];
      }
    }
  }
}

TEST(QGemmTest, EveryVersionEqualsReferenceBitForBit) {
  struct Shape {
    int64_t rows, cols, tokens;
  };
  const Shape shapes[] = {{1, 256, 1},  {5, 256, 3},   {16, 512, 8},  {17, 256, 9},
                          {33, 768, 7}, {40, 512, 16}, {23, 1536, 70}};
  uint32_t seed = 1;
  for (DType type : kTypes) {
    const DType act = QDotActivationType(type);
    for (const Shape& s : shapes) {
      for (bool extreme : {false, true}) {
        const Matrix w = extreme ? ExtremeWeights(type, s.rows, s.cols, ++seed)
                                 : RandomWeights(type, s.rows, s.cols, ++seed);
        uint64_t stride = 0;
        const std::vector<uint8_t> xq =
            Activations(act, s.tokens, s.cols, ++seed, extreme, &stride);
        ExpectMatchesReference(type, w, s.rows, s.cols, xq, stride, s.tokens,
                               extreme ? "extreme" : "random");
      }
    }
  }
}

TEST(QGemmTest, EveryTokenCount) {
  // 1..70 tokens: every tail of the 8-token tile, several full tiles.
  for (DType type : kTypes) {
    const DType act = QDotActivationType(type);
    const int64_t rows = 19, cols = 512;
    const Matrix w = RandomWeights(type, rows, cols, 5);
    uint64_t stride = 0;
    const std::vector<uint8_t> xq = Activations(act, 70, cols, 6, false, &stride);
    for (int64_t n = 1; n <= 70; ++n) {
      ExpectMatchesReference(type, w, rows, cols, xq, stride, n, "tokens");
    }
  }
}

TEST(QGemmTest, FastActivationQuantizersWriteTheReferenceBytes) {
  std::mt19937 rng(17);
  for (DType act : {DType::kQ8_0, DType::kQ8_K}) {
    const int64_t n = 1024;
    for (int pattern = 0; pattern < 8; ++pattern) {
      for (int rep = 0; rep < 20; ++rep) {
        std::vector<float> x(n);
        std::normal_distribution<float> dist(0.0f, pattern == 1 ? 1e-30f : 1.0f + rep);
        for (int64_t i = 0; i < n; ++i) {
          switch (pattern) {
            case 0:
            case 1:
              x[i] = dist(rng);
              break;
            case 2:  // small integers: many products land exactly on .5 ties
              x[i] = static_cast<float>(static_cast<int>(rng() % 255) - 127) * 0.5f;
              break;
            case 3:  // ties of the largest magnitude with both signs
              x[i] = rng() % 3 == 0 ? (rng() % 2 ? 4.0f : -4.0f) : dist(rng);
              break;
            case 4:  // zero blocks, negative zeros
              x[i] = (i / 256) % 2 ? 0.0f : -0.0f;
              break;
            case 5:  // one outlier per block
              x[i] = i % 97 == 0 ? 1e4f : dist(rng) * 1e-3f;
              break;
            case 6:  // values k / 127 so that x * id hits half-integers
              x[i] = static_cast<float>(static_cast<int>(rng() % 509) - 254) / 254.0f;
              break;
            default:  // subnormals and large values mixed
              x[i] = rng() % 2 ? 1e-39f * static_cast<float>(rng() % 100) : dist(rng) * 1e6f;
              break;
          }
        }
        std::vector<uint8_t> want(*RowBytes(act, n)), got(want.size(), 0xAB);
        QuantizeActivations(act, x.data(), n, want.data());
        QuantizeActivationsFast(act, x.data(), n, got.data());
        ASSERT_EQ(want, got) << Traits(act).name << " pattern " << pattern << " rep " << rep;
      }
    }
  }
}

TEST(QGemmTest, Unsupported) {
  std::vector<uint8_t> buf(4096);
  float y[4];
  EXPECT_FALSE(QGemmSupported(DType::kQ4_K, 128));
  EXPECT_FALSE(QGemmSupported(DType::kF32, 256));
  EXPECT_FALSE(QGemmSupported(DType::kQ2_K, 256));
  EXPECT_TRUE(QGemmSupported(DType::kQ8_0, 512));
  EXPECT_FALSE(
      QGemm(QDotIsa::kScalar, DType::kQ8_0, buf.data(), 34, 1, 32, buf.data(), 34, 1, y, 1));
  EXPECT_FALSE(
      QGemm(QDotIsa::kAvx2, DType::kF16, buf.data(), 512, 1, 256, buf.data(), 512, 1, y, 1));
}

TEST(QGemmTest, MatMulBatchesEqualOneTokenProducts) {
  // The int8 MatMul for a batch gives each token exactly its one-token result (and QDotRef's),
  // whether the pool splits rows (150 rows: 10 panels) or tokens (few rows).
  ThreadPool pool(2);
  SetMatMulMode(MatMulMode::kInt8);
  for (DType type : kTypes) {
    for (int64_t rows : {3, 70, 150}) {
      const int64_t cols = 512;
      const Matrix m = RandomWeights(type, rows, cols, 9);
      const WeightMatrix w = View(type, m, rows, cols);
      for (int64_t n_tokens : {2, 5, 9, 33}) {
        std::mt19937 rng(static_cast<uint32_t>(n_tokens));
        std::normal_distribution<float> dist(0.0f, 1.0f);
        std::vector<float> x(n_tokens * cols);
        for (float& v : x) v = dist(rng);
        std::vector<float> y(n_tokens * rows), one(rows);
        MatMul(w, x.data(), n_tokens, y.data(), pool);
        const DType act = QDotActivationType(type);
        std::vector<uint8_t> xq(*RowBytes(act, cols));
        for (int64_t t = 0; t < n_tokens; ++t) {
          MatMul(w, x.data() + t * cols, 1, one.data(), pool);
          QuantizeActivations(act, x.data() + t * cols, cols, xq.data());
          for (int64_t r = 0; r < rows; ++r) {
            ASSERT_EQ(Bits(y[t * rows + r]), Bits(one[r]))
                << Traits(type).name << " rows=" << rows << " n=" << n_tokens << " t=" << t;
            ASSERT_EQ(Bits(one[r]), Bits(QDotRef(type, w.row(r), xq.data(), cols)));
          }
        }
      }
    }
  }
}

TEST(QGemmTest, MatMulSerialTakesTheIntegerKernelsInInt8Mode) {
  // The per-head serial products (MLA's W_UV) give MatMul's bits in int8 mode, into a strided
  // output; exact mode stays on the float rows.
  ThreadPool pool(1);
  for (DType type : kTypes) {
    const int64_t rows = 24, cols = 512, n_tokens = 3, y_stride = rows + 5;
    const Matrix m = RandomWeights(type, rows, cols, 41);
    const WeightMatrix w = View(type, m, rows, cols);
    std::mt19937 rng(3);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(n_tokens * cols), row_buf(4 * cols);
    for (float& v : x) v = dist(rng);
    for (MatMulMode mode : {MatMulMode::kInt8, MatMulMode::kExact}) {
      SetMatMulMode(mode);
      std::vector<float> want(n_tokens * rows), got(n_tokens * y_stride, -7.0f);
      for (int64_t t = 0; t < n_tokens; ++t) {
        MatMul(w, x.data() + t * cols, 1, want.data() + t * rows, pool);
      }
      MatMulSerial(w, x.data(), n_tokens, got.data(), y_stride, row_buf.data());
      for (int64_t t = 0; t < n_tokens; ++t) {
        for (int64_t r = 0; r < y_stride; ++r) {
          if (r >= rows) {
            ASSERT_EQ(got[t * y_stride + r], -7.0f);
            continue;
          }
          if (mode == MatMulMode::kInt8) {
            ASSERT_EQ(Bits(got[t * y_stride + r]), Bits(want[t * rows + r]))
                << Traits(type).name << " r=" << r << " t=" << t;
          } else {
            ASSERT_NEAR(got[t * y_stride + r], want[t * rows + r], 1e-4f) << Traits(type).name;
          }
        }
      }
    }
    SetMatMulMode(MatMulMode::kInt8);
  }
}

// ---- the interleaved layout (lib/kernels/interleave.h) ----------------------------------------

TEST(InterleaveTest, SupportedShapes) {
  for (DType type : kTypes) {
    EXPECT_TRUE(InterleaveSupported(type, 16, 256));
    EXPECT_TRUE(InterleaveSupported(type, 4096, 8960 / 256 * 256));
    EXPECT_FALSE(InterleaveSupported(type, 17, 256)) << "rows must be a multiple of 16";
    const bool blocks32 = type != DType::kQ4_K && type != DType::kQ5_K && type != DType::kQ6_K;
    EXPECT_EQ(InterleaveSupported(type, 16, 1408), blocks32) << "K-quants need whole super-blocks";
    EXPECT_FALSE(InterleaveSupported(type, 16, 48));
    EXPECT_FALSE(InterleaveSupported(type, 0, 256));
    EXPECT_EQ(InterleavedUnitBytes(type), 16 * *RowBytes(type, 256));
  }
  EXPECT_FALSE(InterleaveSupported(DType::kF32, 16, 256));
  EXPECT_FALSE(InterleaveSupported(DType::kQ2_K, 16, 256));
  EXPECT_FALSE(InterleaveSupported(DType::kQ5_1, 16, 256));
  EXPECT_EQ(InterleavedUnitBytes(DType::kF16), 0u);
}

TEST(InterleaveTest, RowsReadBackExactly) {
  for (DType type : kTypes) {
    for (int64_t cols : {768, 1408, 32, 288}) {
      if (!InterleaveSupported(type, 16, cols)) continue;
      const int64_t rows = 48;
      const Matrix m = ExtremeWeights(type, rows, cols, 21);
      std::vector<uint8_t> inter = m.data;
      InterleaveRows(type, inter.data(), rows, cols);
      EXPECT_NE(inter, m.data) << "the layout changed nothing";
      std::vector<uint8_t> row(m.row_bytes);
      for (int64_t r = 0; r < rows; ++r) {
        ExtractInterleavedRow(type, inter.data(), r, cols, row.data());
        ASSERT_EQ(0, std::memcmp(row.data(), m.data.data() + r * m.row_bytes, m.row_bytes))
            << Traits(type).name << " cols " << cols << " row " << r;
      }
    }
  }
}

TEST(InterleaveTest, ProductsEqualReferenceBitForBit) {
  if (!CpuHas(QDotIsa::kAvx512Vnni)) GTEST_SKIP() << "the interleaved kernels need AVX-512 VNNI";
  uint32_t seed = 100;
  for (DType type : kTypes) {
    const DType act = QDotActivationType(type);
    for (int64_t cols : {512, 1408, 96}) {
      if (!InterleaveSupported(type, 32, cols)) continue;
      for (bool extreme : {false, true}) {
        const int64_t rows = 32;
        const Matrix w = extreme ? ExtremeWeights(type, rows, cols, ++seed)
                                 : RandomWeights(type, rows, cols, ++seed);
        std::vector<uint8_t> inter = w.data;
        InterleaveRows(type, inter.data(), rows, cols);
        uint64_t stride = 0;
        const std::vector<uint8_t> xq = Activations(act, 19, cols, ++seed, extreme, &stride);
        for (int64_t n : {1, 2, 3, 8, 9, 19}) {
          const int64_t y_stride = rows + 3;
          std::vector<float> y(n * y_stride, -7.0f);
          ASSERT_TRUE(QGemmInterleaved(type, inter.data(), rows, cols, xq.data(), stride, n,
                                       y.data(), y_stride));
          for (int64_t t = 0; t < n; ++t) {
            for (int64_t r = 0; r < y_stride; ++r) {
              const float got = y[t * y_stride + r];
              if (r >= rows) {
                ASSERT_EQ(got, -7.0f) << "wrote outside the rows";
                continue;
              }
              const float want =
                  QDotRef(type, w.data.data() + r * w.row_bytes, xq.data() + t * stride, cols);
              ASSERT_EQ(Bits(got), Bits(want))
                  << Traits(type).name << (extreme ? " extreme" : "") << " cols=" << cols
                  << " n=" << n << " r=" << r << " t=" << t;
            }
          }
        }
      }
    }
  }
  // Shapes the layout does not take are refused without writing.
  float y = -7.0f;
  std::vector<uint8_t> w(*RowBytes(DType::kQ4_K, 256) * 17), xq(*RowBytes(DType::kQ8_K, 256));
  EXPECT_FALSE(QGemmInterleaved(DType::kQ4_K, w.data(), 17, 256, xq.data(), xq.size(), 1, &y, 17));
  EXPECT_EQ(y, -7.0f);
}

TEST(InterleaveTest, MatMulAndDequantizeRowTakeEitherLayout) {
  // A matrix rewritten by InterleaveWeightMatrix gives MatMul the row layout's bits (int8 mode,
  // 1 token and batches, rows or tokens split) and DequantizeRow the same floats (exact mode too).
  ThreadPool pool(2);
  for (DType type : kTypes) {
    for (int64_t rows : {16, 160}) {
      const int64_t cols = Traits(type).block_size == 256 ? 512 : 1408;
      const Matrix m = RandomWeights(type, rows, cols, 31);
      const WeightMatrix plain = View(type, m, rows, cols);
      std::vector<uint8_t> bytes = m.data;
      WeightMatrix inter = plain;
      inter.data = bytes.data();
      const bool done = InterleaveWeightMatrix(inter, bytes.data());
      EXPECT_EQ(done, CpuHas(QDotIsa::kAvx512Vnni));
      EXPECT_EQ(inter.interleaved, done);
      EXPECT_FALSE(InterleaveWeightMatrix(inter, bytes.data())) << "interleaved twice";
      std::vector<float> a(cols), b(cols);
      for (int64_t r = 0; r < rows; r += 7) {
        DequantizeRow(plain, r, a.data());
        DequantizeRow(inter, r, b.data());
        ASSERT_EQ(0, std::memcmp(a.data(), b.data(), cols * sizeof(float))) << "row " << r;
      }
      for (MatMulMode mode : {MatMulMode::kInt8, MatMulMode::kExact}) {
        SetMatMulMode(mode);
        for (int64_t n_tokens : {1, 2, 5, 33}) {
          std::mt19937 rng(static_cast<uint32_t>(n_tokens));
          std::normal_distribution<float> dist(0.0f, 1.0f);
          std::vector<float> x(n_tokens * cols);
          for (float& v : x) v = dist(rng);
          std::vector<float> y0(n_tokens * rows), y1(n_tokens * rows);
          MatMul(plain, x.data(), n_tokens, y0.data(), pool);
          MatMul(inter, x.data(), n_tokens, y1.data(), pool);
          for (size_t i = 0; i < y0.size(); ++i) {
            ASSERT_EQ(Bits(y0[i]), Bits(y1[i]))
                << Traits(type).name << " rows=" << rows << " n=" << n_tokens << " at " << i;
          }
        }
      }
      SetMatMulMode(MatMulMode::kInt8);
    }
  }
}

}  // namespace
}  // namespace fathom
