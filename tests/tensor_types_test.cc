// Tests of lib/tensor/: the ggml type table, bit-exact dequantization against ggml's own output
// (llamacpp fixtures), hand-built blocks, quantize/dequantize round trips, the float conversions
// and the scalar reference dot product.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "support/fixtures.h"
#include "tensor/dtype.h"
#include "tensor/quant.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif

// The DotRef test re-does the library's float accumulation and compares for equality, so this file
// must not fuse multiply-adds either (the build passes -mfma).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace fathom {
namespace {

// ---- helpers ------------------------------------------------------------------------------------

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Every type fathom computes with (can_compute), plus the activation type Q8_1.
const std::vector<DType>& ComputableTypes() {
  static const std::vector<DType> kTypes = {
      DType::kF32,  DType::kF16,  DType::kBF16, DType::kF8_E4M3, DType::kQ4_0,   DType::kQ4_1,
      DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ2_K,    DType::kQ3_K,   DType::kQ4_K,
      DType::kQ5_K, DType::kQ6_K, DType::kQ8_K, DType::kIQ4_NL,  DType::kIQ4_XS,
  };
  return kTypes;
}

std::vector<float> RandomNormal(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& f : v) f = dist(rng);
  return v;
}

std::vector<uint8_t> QuantizeOrDie(DType type, const std::vector<float>& x) {
  const absl::StatusOr<uint64_t> bytes = RowBytes(type, static_cast<int64_t>(x.size()));
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  std::vector<uint8_t> q(bytes.ok() ? *bytes : 0);
  const absl::Status st = Quantize(type, x.data(), q.data(), static_cast<int64_t>(x.size()));
  EXPECT_TRUE(st.ok()) << Traits(type).name << ": " << st;
  return q;
}

std::vector<float> DequantizeOrDie(DType type, const std::vector<uint8_t>& q, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n));
  const absl::Status st = Dequantize(type, q.data(), y.data(), n);
  EXPECT_TRUE(st.ok()) << Traits(type).name << ": " << st;
  return y;
}

// ---- a minimal GGUF tensor locator (test-only; the fixtures are trusted) ------------------------

struct GgufTensor {
  uint32_t type = 0;
  std::vector<uint64_t> dims;  // ne0 first
  uint64_t offset = 0;         // absolute file offset of the data
};

class GgufCursor {
 public:
  explicit GgufCursor(const std::string& bytes) : bytes_(bytes) {}
  bool ok() const { return ok_; }
  size_t pos() const { return pos_; }

  template <typename T>
  T Read() {
    T v{};
    if (pos_ + sizeof(T) > bytes_.size()) {
      ok_ = false;
      return v;
    }
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string ReadString() {
    const uint64_t len = Read<uint64_t>();
    if (!ok_ || len > bytes_.size() - pos_) {
      ok_ = false;
      return {};
    }
    std::string s = bytes_.substr(pos_, len);
    pos_ += len;
    return s;
  }
  // Skips one value of GGUF metadata type `t`; returns its value when it is an integer.
  std::optional<uint64_t> SkipValue(uint32_t t) {
    switch (t) {
      case 0:
        return Read<uint8_t>();
      case 1:
        return static_cast<uint64_t>(Read<int8_t>());
      case 2:
        return Read<uint16_t>();
      case 3:
        return static_cast<uint64_t>(Read<int16_t>());
      case 4:
        return Read<uint32_t>();
      case 5:
        return static_cast<uint64_t>(Read<int32_t>());
      case 6:
        Read<float>();
        return std::nullopt;
      case 7:
        Read<uint8_t>();
        return std::nullopt;
      case 8:
        ReadString();
        return std::nullopt;
      case 9: {
        const uint32_t et = Read<uint32_t>();
        const uint64_t n = Read<uint64_t>();
        for (uint64_t i = 0; i < n && ok_; ++i) SkipValue(et);
        return std::nullopt;
      }
      case 10:
        return Read<uint64_t>();
      case 11:
        return static_cast<uint64_t>(Read<int64_t>());
      case 12:
        Read<double>();
        return std::nullopt;
      default:
        ok_ = false;
        return std::nullopt;
    }
  }

 private:
  const std::string& bytes_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Parses the header of a GGUF v2/v3 file held in `bytes`; fails the test on malformed input.
std::map<std::string, GgufTensor> ParseGgufTensors(const std::string& bytes) {
  std::map<std::string, GgufTensor> out;
  GgufCursor c(bytes);
  if (c.Read<uint32_t>() != 0x46554747u) {  // "GGUF"
    ADD_FAILURE() << "not a GGUF file";
    return out;
  }
  const uint32_t version = c.Read<uint32_t>();
  EXPECT_GE(version, 2u);
  const uint64_t n_tensors = c.Read<uint64_t>();
  const uint64_t n_kv = c.Read<uint64_t>();
  uint64_t alignment = 32;
  for (uint64_t i = 0; i < n_kv && c.ok(); ++i) {
    const std::string key = c.ReadString();
    const uint32_t t = c.Read<uint32_t>();
    const std::optional<uint64_t> v = c.SkipValue(t);
    if (key == "general.alignment" && v.has_value()) alignment = *v;
  }
  std::vector<std::pair<std::string, GgufTensor>> infos;
  for (uint64_t i = 0; i < n_tensors && c.ok(); ++i) {
    std::string name = c.ReadString();
    GgufTensor t;
    const uint32_t n_dims = c.Read<uint32_t>();
    for (uint32_t d = 0; d < n_dims && c.ok(); ++d) t.dims.push_back(c.Read<uint64_t>());
    t.type = c.Read<uint32_t>();
    t.offset = c.Read<uint64_t>();
    infos.emplace_back(std::move(name), std::move(t));
  }
  if (!c.ok() || alignment == 0) {
    ADD_FAILURE() << "truncated GGUF header";
    return out;
  }
  const uint64_t data_start = (c.pos() + alignment - 1) / alignment * alignment;
  for (auto& [name, t] : infos) {
    t.offset += data_start;
    out.emplace(name, t);
  }
  return out;
}

// ---- 1. bit-exact dequantization against ggml ---------------------------------------------------

struct FixtureFile {
  const char* folder;
  const char* label;
};
constexpr FixtureFile kFixtureFiles[] = {
    {"qwen2-tiny", "F16"},     {"qwen2-tiny", "BF16"},    {"qwen2-tiny", "Q8_0"},
    {"qwen2-tiny", "Q4_0"},    {"qwen2-tiny", "Q5_0"},    {"qwen2-tiny", "Q2_K"},
    {"qwen2-tiny", "Q4_K"},    {"qwen2-tiny", "Q6_K"},    {"qwen2-tiny", "IQ4_NL"},
    {"qwen2-tiny", "Q4_K_M"},  {"llama3-tiny", "Q8_0"},   {"llama3-tiny", "Q4_1"},
    {"llama3-tiny", "Q5_1"},   {"llama3-tiny", "Q3_K"},   {"llama3-tiny", "Q5_K"},
    {"llama3-tiny", "IQ4_XS"}, {"llama3-tiny", "Q4_K_M"},
};

class GgmlFixtureTest : public ::testing::TestWithParam<FixtureFile> {};

TEST_P(GgmlFixtureTest, DequantizeMatchesGgmlBitForBit) {
  const FixtureFile f = GetParam();
  const std::string dir = std::string("llamacpp/") + f.folder + "/";
  const std::string expected_rel = dir + "expected-" + f.label + ".safetensors";
  const std::string model_rel = dir + "model-" + f.label + ".gguf";
  FATHOM_REQUIRE_FIXTURE(expected_rel);
  FATHOM_REQUIRE_FIXTURE(model_rel);

  const auto expected = testing::ReadSafetensors(testing::FixturePath(expected_rel));
  const std::string gguf = testing::ReadFile(testing::FixturePath(model_rel));
  ASSERT_FALSE(gguf.empty());
  const auto tensors = ParseGgufTensors(gguf);
  ASSERT_FALSE(tensors.empty());

  int checked = 0;
  std::map<std::string, int> types_seen;
  for (const auto& [key, want] : expected) {
    if (key.rfind("dequant.", 0) != 0) continue;
    const std::string name = key.substr(8);
    SCOPED_TRACE(name);
    const auto it = tensors.find(name);
    ASSERT_NE(it, tensors.end()) << "tensor not in GGUF";
    const GgufTensor& t = it->second;
    const std::optional<DTypeTraits> traits = GetDTypeTraits(t.type);
    ASSERT_TRUE(traits.has_value()) << "type id " << t.type;
    ASSERT_TRUE(traits->can_compute) << traits->name;
    ++types_seen[std::string(traits->name)];

    ASSERT_EQ(want.shape.size(), 2u);
    const int64_t rows = want.shape[0];
    const int64_t ne0 = want.shape[1];
    ASSERT_EQ(static_cast<uint64_t>(ne0), t.dims[0]);
    const absl::StatusOr<uint64_t> row_bytes = RowBytes(traits->type, ne0);
    ASSERT_TRUE(row_bytes.ok()) << row_bytes.status();
    const uint64_t nbytes = *row_bytes * static_cast<uint64_t>(rows);
    ASSERT_LE(t.offset + nbytes, gguf.size());
    const char* raw = gguf.data() + t.offset;

    std::vector<float> got(static_cast<size_t>(rows * ne0));
    ASSERT_TRUE(Dequantize(traits->type, raw, got.data(), rows * ne0).ok());
    ASSERT_EQ(got.size(), want.f32.size());
    int mismatches = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      if (Bits(got[i]) != Bits(want.f32[i])) {
        if (++mismatches <= 5) {
          ADD_FAILURE() << traits->name << " element " << i << ": got " << got[i] << " (0x"
                        << std::hex << Bits(got[i]) << "), ggml " << want.f32[i] << " (0x"
                        << Bits(want.f32[i]) << std::dec << ")";
        }
      }
    }
    EXPECT_EQ(mismatches, 0) << traits->name;

    // Row by row too (a row is a whole number of blocks), and DotRef on the real data.
    const std::vector<float> x = RandomNormal(ne0, 7);
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<float> row(static_cast<size_t>(ne0));
      ASSERT_TRUE(Dequantize(traits->type, raw + r * *row_bytes, row.data(), ne0).ok());
      EXPECT_EQ(std::memcmp(row.data(), want.f32.data() + r * ne0, ne0 * sizeof(float)), 0);
      double sum = 0, sum_abs = 0;
      for (int64_t i = 0; i < ne0; ++i) {
        sum += static_cast<double>(row[i]) * x[i];
        sum_abs += std::fabs(static_cast<double>(row[i]) * x[i]);
      }
      const float dot = DotRef(traits->type, raw + r * *row_bytes, x.data(), ne0);
      EXPECT_NEAR(dot, sum, 1e-5 * sum_abs + 1e-30);
    }
    ++checked;
  }
  EXPECT_GE(checked, 6);
  std::string seen;
  for (const auto& [name, count] : types_seen) seen += name + " x" + std::to_string(count) + " ";
  RecordProperty("types", seen);
}

INSTANTIATE_TEST_SUITE_P(Llamacpp, GgmlFixtureTest, ::testing::ValuesIn(kFixtureFiles),
                         [](const ::testing::TestParamInfo<FixtureFile>& info) {
                           std::string s = std::string(info.param.folder) + "_" + info.param.label;
                           for (char& ch : s) {
                             if (ch == '-') ch = '_';
                           }
                           return s;
                         });

// For the symmetric legacy types and IQ4_NL, ggml's reference quantizer maps its own output back
// to itself: re-quantizing the dequantized fixture rows must give back the GGUF bytes exactly.
TEST(GgmlFixture, RequantizingGgmlBlocksIsExact) {
  struct Case {
    const char* folder;
    const char* label;
    DType type;
  };
  const Case cases[] = {
      {"qwen2-tiny", "Q8_0", DType::kQ8_0}, {"qwen2-tiny", "Q4_0", DType::kQ4_0},
      {"qwen2-tiny", "Q5_0", DType::kQ5_0}, {"llama3-tiny", "Q8_0", DType::kQ8_0},
      {"qwen2-tiny", "F16", DType::kF16},   {"qwen2-tiny", "BF16", DType::kBF16},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    const std::string dir = std::string("llamacpp/") + c.folder + "/";
    FATHOM_REQUIRE_FIXTURE(dir + "model-" + c.label + ".gguf");
    const std::string gguf =
        testing::ReadFile(testing::FixturePath(dir + "model-" + c.label + ".gguf"));
    const auto tensors = ParseGgufTensors(gguf);
    int checked = 0;
    for (const auto& [name, t] : tensors) {
      if (t.type != static_cast<uint32_t>(c.type) || t.dims.size() != 2) continue;
      const int64_t n = static_cast<int64_t>(t.dims[0]) * 4;
      const uint64_t nbytes = *RowBytes(c.type, n);
      ASSERT_LE(t.offset + nbytes, gguf.size());
      const std::vector<uint8_t> raw(gguf.begin() + static_cast<std::ptrdiff_t>(t.offset),
                                     gguf.begin() + static_cast<std::ptrdiff_t>(t.offset + nbytes));
      const std::vector<float> deq = DequantizeOrDie(c.type, raw, n);
      const std::vector<uint8_t> again = QuantizeOrDie(c.type, deq);
      EXPECT_EQ(again, raw) << name;
      ++checked;
    }
    EXPECT_GT(checked, 0);
  }
}

// ---- 2. hand-built blocks -----------------------------------------------------------------------

constexpr uint16_t kHalfOne = 0x3C00, kHalfHalf = 0x3800, kHalfQuarter = 0x3400, kHalfTwo = 0x4000,
                   kHalfMinusOne = 0xBC00;

void PutU16(std::vector<uint8_t>& b, size_t at, uint16_t v) { std::memcpy(&b[at], &v, 2); }

void ExpectDequant(DType type, const std::vector<uint8_t>& block, const std::vector<float>& want) {
  ASSERT_EQ(block.size(), static_cast<size_t>(Traits(type).type_size));
  const std::vector<float> got = DequantizeOrDie(type, block, static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i], want[i]) << Traits(type).name << " element " << i;
  }
}

TEST(KnownBlocks, Q4_0) {
  std::vector<uint8_t> b(18);
  PutU16(b, 0, kHalfOne);
  for (int j = 0; j < 16; ++j) b[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  std::vector<float> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = static_cast<float>(j - 8);
    want[j + 16] = static_cast<float>(7 - j);
  }
  ExpectDequant(DType::kQ4_0, b, want);
}

TEST(KnownBlocks, Q4_1) {
  std::vector<uint8_t> b(20);
  PutU16(b, 0, kHalfHalf);
  PutU16(b, 2, kHalfMinusOne);
  for (int j = 0; j < 16; ++j) b[4 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  std::vector<float> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = 0.5f * static_cast<float>(j) - 1.0f;
    want[j + 16] = 0.5f * static_cast<float>(15 - j) - 1.0f;
  }
  ExpectDequant(DType::kQ4_1, b, want);
}

TEST(KnownBlocks, Q5_0AndQ5_1) {
  // qh = 0xA5A5A5A5: the fifth bit of element e is bit e.
  const uint32_t qh = 0xA5A5A5A5u;
  std::vector<uint8_t> b0(22), b1(24);
  PutU16(b0, 0, kHalfOne);
  PutU16(b1, 0, kHalfQuarter);
  PutU16(b1, 2, kHalfTwo);
  std::memcpy(&b0[2], &qh, 4);
  std::memcpy(&b1[4], &qh, 4);
  std::vector<float> want0(32), want1(32);
  for (int j = 0; j < 16; ++j) {
    b0[6 + j] = b1[8 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  }
  for (int e = 0; e < 32; ++e) {
    const int low = e < 16 ? e : 15 - (e - 16);
    const int q = low | static_cast<int>(((qh >> e) & 1) << 4);
    want0[e] = static_cast<float>(q - 16);
    want1[e] = 0.25f * static_cast<float>(q) + 2.0f;
  }
  ExpectDequant(DType::kQ5_0, b0, want0);
  ExpectDequant(DType::kQ5_1, b1, want1);
}

TEST(KnownBlocks, Q8_0AndQ8_K) {
  std::vector<uint8_t> b(34);
  PutU16(b, 0, kHalfTwo);
  std::vector<float> want(32);
  for (int j = 0; j < 32; ++j) {
    b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j - 16));
    want[j] = 2.0f * static_cast<float>(j - 16);
  }
  ExpectDequant(DType::kQ8_0, b, want);

  std::vector<uint8_t> k(292, 0);
  const float d = 0.25f;
  std::memcpy(&k[0], &d, 4);
  std::vector<float> wantk(256);
  for (int j = 0; j < 256; ++j) {
    const int8_t q = static_cast<int8_t>(j - 128);
    k[4 + j] = static_cast<uint8_t>(q);
    wantk[j] = 0.25f * q;
  }
  ExpectDequant(DType::kQ8_K, k, wantk);
}

TEST(KnownBlocks, Q2_K) {
  // Every qs byte is 0b11100100: within each 128-half, the 32-element group g has q = g.
  std::vector<uint8_t> b(84);
  for (int s = 0; s < 16; ++s) b[s] = static_cast<uint8_t>((s % 15 + 1) | ((s % 3) << 4));
  for (int i = 0; i < 64; ++i) b[16 + i] = 0xE4;
  PutU16(b, 80, kHalfOne);   // d
  PutU16(b, 82, kHalfHalf);  // dmin
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) {
    const int s = e / 16;
    const float q = static_cast<float>((e % 128) / 32);
    want[e] = static_cast<float>(s % 15 + 1) * q - 0.5f * static_cast<float>(s % 3);
  }
  ExpectDequant(DType::kQ2_K, b, want);
}

TEST(KnownBlocks, Q3_K) {
  std::vector<uint8_t> b(110, 0);
  // hmask[l] = 0x0F: the high bit is set for the first 128 elements only (else q - 4).
  for (int l = 0; l < 32; ++l) b[l] = 0x0F;
  for (int i = 0; i < 64; ++i) b[32 + i] = 0xE4;
  // Sub-block s gets the 6-bit scale 32 + (s - 8) (i.e. s - 8 after the bias).
  uint8_t* sc = &b[96];
  for (int s = 0; s < 16; ++s) {
    const int v = 32 + s - 8;
    if (s < 8) {
      sc[s] = static_cast<uint8_t>(v & 0xF);
    } else {
      sc[s - 8] |= static_cast<uint8_t>((v & 0xF) << 4);
    }
    sc[8 + s % 4] |= static_cast<uint8_t>((v >> 4) << (2 * (s / 4)));
  }
  PutU16(b, 108, kHalfHalf);
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) {
    const int q = (e % 128) / 32 - (e < 128 ? 0 : 4);
    want[e] = (0.5f * static_cast<float>(e / 16 - 8)) * static_cast<float>(q);
  }
  ExpectDequant(DType::kQ3_K, b, want);
}

// Packs 6-bit scales sc[8] and mins mn[8] the way Q4_K/Q5_K store them.
void PackScaleMin(const int* sc, const int* mn, uint8_t* out) {
  for (int j = 0; j < 4; ++j) {
    out[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    out[j + 4] = static_cast<uint8_t>((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
    out[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
  }
}

TEST(KnownBlocks, Q4_KAndQ5_K) {
  int sc[8], mn[8];
  for (int s = 0; s < 8; ++s) {
    sc[s] = 7 * s + 5;   // up to 54: uses the top bits
    mn[s] = 63 - 5 * s;  // down to 28
  }
  std::vector<uint8_t> b4(144, 0), b5(176, 0);
  PutU16(b4, 0, kHalfOne);
  PutU16(b4, 2, kHalfQuarter);
  PutU16(b5, 0, kHalfOne);
  PutU16(b5, 2, kHalfQuarter);
  PackScaleMin(sc, mn, &b4[4]);
  PackScaleMin(sc, mn, &b5[4]);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t v = static_cast<uint8_t>((l % 16) | ((15 - l % 16) << 4));
      b4[16 + 32 * c + l] = v;
      b5[48 + 32 * c + l] = v;
    }
  }
  for (int l = 0; l < 32; ++l) b5[16 + l] = static_cast<uint8_t>(l % 2 ? 0x55 : 0xAA);
  std::vector<float> want4(256), want5(256);
  for (int e = 0; e < 256; ++e) {
    const int s = e / 32, l = e % 32;
    const int q = s % 2 == 0 ? l % 16 : 15 - l % 16;
    const int high = (((l % 2 ? 0x55 : 0xAA) >> s) & 1) * 16;
    want4[e] =
        static_cast<float>(sc[s]) * static_cast<float>(q) - 0.25f * static_cast<float>(mn[s]);
    want5[e] = static_cast<float>(sc[s]) * static_cast<float>(q + high) -
               0.25f * static_cast<float>(mn[s]);
  }
  ExpectDequant(DType::kQ4_K, b4, want4);
  ExpectDequant(DType::kQ5_K, b5, want5);
}

TEST(KnownBlocks, Q6_K) {
  std::vector<uint8_t> b(210, 0);
  std::vector<int> q(256);
  for (int e = 0; e < 256; ++e) q[e] = (e * 7 + 3) % 64;
  // Element e = 128h + 32j + l: low nibble in ql[64h + 32(j%2) + l] (high half if j >= 2),
  // top 2 bits at bits 2j of qh[32h + l].
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, j = (e % 128) / 32, l = e % 32;
    b[64 * h + 32 * (j % 2) + l] |= static_cast<uint8_t>((q[e] & 0xF) << (j >= 2 ? 4 : 0));
    b[128 + 32 * h + l] |= static_cast<uint8_t>((q[e] >> 4) << (2 * j));
  }
  for (int s = 0; s < 16; ++s) b[192 + s] = static_cast<uint8_t>(static_cast<int8_t>(s * 9 - 70));
  PutU16(b, 208, kHalfHalf);
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) {
    want[e] = 0.5f * static_cast<float>(e / 16 * 9 - 70) * static_cast<float>(q[e] - 32);
  }
  ExpectDequant(DType::kQ6_K, b, want);
}

const int8_t kIq4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                               1,    13,   25,  38,  53,  69,  89,  113};

TEST(KnownBlocks, IQ4_NL) {
  std::vector<uint8_t> b(18);
  PutU16(b, 0, kHalfOne);
  for (int j = 0; j < 16; ++j) b[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  std::vector<float> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = kIq4Values[j];
    want[j + 16] = kIq4Values[15 - j];
  }
  ExpectDequant(DType::kIQ4_NL, b, want);
}

TEST(KnownBlocks, IQ4_XS) {
  std::vector<uint8_t> b(136, 0);
  PutU16(b, 0, kHalfHalf);
  uint16_t scales_h = 0;
  for (int s = 0; s < 8; ++s) {
    const int ls = 32 + 5 * s - 20;  // 12..47 -> -20..15
    b[4 + s / 2] |= static_cast<uint8_t>((ls & 0xF) << (4 * (s % 2)));
    scales_h |= static_cast<uint16_t>((ls >> 4) << (2 * s));
  }
  PutU16(b, 2, scales_h);
  for (int s = 0; s < 8; ++s) {
    for (int j = 0; j < 16; ++j) b[8 + 16 * s + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  }
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) {
    const int s = e / 32, j = e % 32;
    const int idx = j < 16 ? j : 15 - (j - 16);
    want[e] = (0.5f * static_cast<float>(5 * s - 20)) * static_cast<float>(kIq4Values[idx]);
  }
  ExpectDequant(DType::kIQ4_XS, b, want);
}

TEST(KnownBlocks, PlainFloats) {
  const uint16_t f16[4] = {0x3C00, 0xC000, 0x0001, 0x7BFF};
  const uint16_t bf16[4] = {0x3F80, 0xC000, 0x0001, 0x7F7F};
  const uint8_t f8[4] = {0x38, 0xC0, 0x01, 0x7E};
  float y[4];
  ASSERT_TRUE(Dequantize(DType::kF16, f16, y, 4).ok());
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -2.0f);
  EXPECT_EQ(y[2], 0x1p-24f);
  EXPECT_EQ(y[3], 65504.0f);
  ASSERT_TRUE(Dequantize(DType::kBF16, bf16, y, 4).ok());
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -2.0f);
  EXPECT_EQ(Bits(y[2]), 0x00010000u);
  EXPECT_EQ(Bits(y[3]), 0x7F7F0000u);
  ASSERT_TRUE(Dequantize(DType::kF8_E4M3, f8, y, 4).ok());
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -2.0f);
  EXPECT_EQ(y[2], 0x1p-9f);
  EXPECT_EQ(y[3], 448.0f);
  const float f32[3] = {1.5f, -0.0f, 3e38f};
  ASSERT_TRUE(Dequantize(DType::kF32, f32, y, 3).ok());
  EXPECT_EQ(std::memcmp(y, f32, sizeof(f32)), 0);
}

// ---- 3. round trips -----------------------------------------------------------------------------

struct RoundTripBound {
  DType type;
  double max_rel_rmse;  // RMS error / RMS of the input (observed values are ~20-40% lower)
  bool idempotent;      // Quantize(Dequantize(q)) == q for every block with a normal fp16 scale
};

class RoundTripTest : public ::testing::TestWithParam<RoundTripBound> {};

TEST_P(RoundTripTest, ErrorBoundAndIdempotence) {
  const RoundTripBound p = GetParam();
  const DTypeTraits& t = Traits(p.type);
  constexpr int64_t kN = 65536;
  std::vector<float> x = RandomNormal(kN, 1234);
  // A few blocks of special shapes: all zero, constant, one outlier, and tiny values (whose fp16
  // scales are subnormal, so that the scale's rounding breaks idempotence there).
  constexpr int64_t kTinyBegin = 1024, kTinyEnd = 1280;
  for (int i = 0; i < 256; ++i) x[i] = 0.0f;
  for (int i = 256; i < 512; ++i) x[i] = 0.75f;
  x[600] = 40.0f;
  for (int64_t i = kTinyBegin; i < kTinyEnd; ++i) x[i] *= 1e-6f;
  const std::vector<uint8_t> q = QuantizeOrDie(p.type, x);
  const std::vector<float> y = DequantizeOrDie(p.type, q, kN);
  double err2 = 0, ref2 = 0;
  for (int64_t i = 0; i < kN; ++i) {
    err2 += (static_cast<double>(y[i]) - x[i]) * (static_cast<double>(y[i]) - x[i]);
    ref2 += static_cast<double>(x[i]) * x[i];
  }
  const double rel = std::sqrt(err2 / ref2);
  EXPECT_LE(rel, p.max_rel_rmse) << t.name;
  for (int i = 0; i < 256; ++i) ASSERT_EQ(y[i], 0.0f) << "zero block, element " << i;
  for (int i = 256; i < 512; ++i) ASSERT_NEAR(y[i], 0.75f, 0.75f * 0.02) << i;
  RecordProperty("rel_rmse", std::to_string(rel));

  const std::vector<uint8_t> q2 = QuantizeOrDie(p.type, y);
  const std::vector<float> y2 = DequantizeOrDie(p.type, q2, kN);
  if (p.idempotent) {
    int differing = 0;
    for (int64_t b = 0; b < kN / t.block_size; ++b) {
      const int64_t first = b * t.block_size, last = first + t.block_size;
      if (last > kTinyBegin && first < kTinyEnd) continue;
      if (std::memcmp(&q[b * t.type_size], &q2[b * t.type_size], t.type_size) != 0) ++differing;
    }
    EXPECT_EQ(differing, 0) << t.name;
  }
  // Requantizing never loses noticeable accuracy.
  double e2 = 0;
  for (int64_t i = 0; i < kN; ++i) {
    e2 += (static_cast<double>(y2[i]) - x[i]) * (static_cast<double>(y2[i]) - x[i]);
  }
  EXPECT_LE(std::sqrt(e2 / ref2), 1.05 * rel + 1e-6) << t.name;
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, RoundTripTest,
    ::testing::Values(
        RoundTripBound{DType::kF32, 0.0, true}, RoundTripBound{DType::kF16, 3e-4, true},
        RoundTripBound{DType::kBF16, 2.5e-3, true}, RoundTripBound{DType::kF8_E4M3, 0.035, true},
        RoundTripBound{DType::kQ8_0, 0.008, true},
        RoundTripBound{DType::kQ8_1, 0.008, false},  // s = d * sum(q) moves
        RoundTripBound{DType::kQ8_K, 0.012, false},  // f32 scale moves by an ulp
        RoundTripBound{DType::kQ4_0, 0.11, true}, RoundTripBound{DType::kQ4_1, 0.10, true},
        RoundTripBound{DType::kQ5_0, 0.055, true}, RoundTripBound{DType::kQ5_1, 0.05, true},
        RoundTripBound{DType::kQ2_K, 0.36, false}, RoundTripBound{DType::kQ3_K, 0.19, false},
        RoundTripBound{DType::kQ4_K, 0.09, false}, RoundTripBound{DType::kQ5_K, 0.046, false},
        RoundTripBound{DType::kQ6_K, 0.023, false}, RoundTripBound{DType::kIQ4_NL, 0.10, true},
        RoundTripBound{DType::kIQ4_XS, 0.10, false}),
    [](const ::testing::TestParamInfo<RoundTripBound>& info) {
      return std::string(Traits(info.param.type).name);
    });

// A deterministic input built from exact float operations only (no libm), so that it is the same
// on every platform: 16 super-blocks with scales 0.25..4 and some offset blocks.
std::vector<float> GoldenInput() {
  std::vector<float> x(4096);
  uint32_t state = 12345u;
  const auto next = [&state]() {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(static_cast<int32_t>(state) >> 8) * 0x1p-23f;
  };
  for (int i = 0; i < 4096; ++i) {
    const int b = i / 256;
    const float v = next() + next() + next();
    const float scale = static_cast<float>(1 << (b % 5)) * 0.25f;
    x[i] = v * scale + (b % 3 == 0 ? 0.3f : 0.0f);
  }
  return x;
}

uint64_t Fnv1a(const void* data, size_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

// FNV-1a hashes of what ggml's own quantize_row_*_ref (ggml-quants.c, built without FMA as in
// libggml-base) produces for GoldenInput(): the quantizers reproduce ggml bit for bit.
TEST(Quantize, MatchesGgmlReferenceQuantizers) {
  const std::vector<float> x = GoldenInput();
  ASSERT_EQ(Fnv1a(x.data(), x.size() * sizeof(float)), 0x09d76f63f9a55982ull);
  const std::pair<DType, uint64_t> want[] = {
      {DType::kQ4_0, 0x6a1665b6ce341777ull},   {DType::kQ4_1, 0xa52c8dfd9d9a2f0full},
      {DType::kQ5_0, 0x94ddc3aa6d953218ull},   {DType::kQ5_1, 0xacfed83495a55542ull},
      {DType::kQ8_0, 0xf1c72eac4226a794ull},   {DType::kQ8_1, 0x7385ce931ee4921full},
      {DType::kQ2_K, 0xea246d5a8f098440ull},   {DType::kQ3_K, 0xf484d48a7c91e8feull},
      {DType::kQ4_K, 0xa5e759fee787711aull},   {DType::kQ5_K, 0x81b97bde08b61e2full},
      {DType::kQ6_K, 0x9678d302b6e5bbfbull},   {DType::kQ8_K, 0x5cd4cdf471102ccfull},
      {DType::kIQ4_NL, 0x055c8b34f5c53fc0ull}, {DType::kIQ4_XS, 0x956529f8e4660893ull},
  };
  for (const auto& [type, hash] : want) {
    const std::vector<uint8_t> q = QuantizeOrDie(type, x);
    EXPECT_EQ(Fnv1a(q.data(), q.size()), hash) << Traits(type).name;
  }
}

TEST(Quantize, RejectsBadArguments) {
  std::vector<float> x(64, 1.0f);
  std::vector<uint8_t> out(1024);
  EXPECT_FALSE(Quantize(DType::kQ4_0, x.data(), out.data(), 33).ok());
  EXPECT_FALSE(Quantize(DType::kQ4_K, x.data(), out.data(), 64).ok());
  EXPECT_FALSE(Quantize(DType::kIQ2_XXS, x.data(), out.data(), 256).ok());
  EXPECT_FALSE(Quantize(DType::kQ8_0, nullptr, out.data(), 32).ok());
  EXPECT_TRUE(Quantize(DType::kQ8_0, nullptr, nullptr, 0).ok());
  x[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(Quantize(DType::kQ8_0, x.data(), out.data(), 64).ok());
  x[5] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(Quantize(DType::kQ4_1, x.data(), out.data(), 64).ok());
  EXPECT_TRUE(Quantize(DType::kF16, x.data(), out.data(), 64).ok());  // inf is an F16 value
}

TEST(Dequantize, RejectsBadArguments) {
  std::vector<uint8_t> in(1024, 0);
  std::vector<float> y(256);
  EXPECT_FALSE(Dequantize(DType::kQ8_0, in.data(), y.data(), 31).ok());
  EXPECT_FALSE(Dequantize(DType::kQ8_0, in.data(), y.data(), -32).ok());
  EXPECT_FALSE(Dequantize(DType::kIQ2_XXS, in.data(), y.data(), 256).ok());
  EXPECT_FALSE(Dequantize(DType::kI32, in.data(), y.data(), 4).ok());
  EXPECT_FALSE(Dequantize(static_cast<DType>(4), in.data(), y.data(), 32).ok());
  EXPECT_FALSE(Dequantize(DType::kQ8_0, nullptr, y.data(), 32).ok());
  EXPECT_TRUE(Dequantize(DType::kQ8_1, in.data(), y.data(), 32).ok());
}

// Q4_0 of a block whose extreme value is negative: d = max / -8 is positive and the extreme maps
// to q = 0; values up to +|max| clamp at q = 15 (7 d).
TEST(Quantize, Q4_0KnownBlock) {
  std::vector<float> x(32, 0.0f);
  x[0] = -8.0f;
  x[1] = 8.0f;
  x[2] = 3.0f;
  x[20] = -1.4f;
  const std::vector<uint8_t> q = QuantizeOrDie(DType::kQ4_0, x);
  uint16_t d;
  std::memcpy(&d, q.data(), 2);
  EXPECT_EQ(d, kHalfOne);
  EXPECT_EQ(q[2] & 0xF, 0);   // -8 -> q 0
  EXPECT_EQ(q[3] & 0xF, 15);  // +8 -> trunc(16.5) = 16, clamped at 15
  EXPECT_EQ(q[4] & 0xF, 11);  // 3 -> trunc(11.5) = 11
  EXPECT_EQ(q[6] >> 4, 7);    // x[20] = -1.4 -> trunc(7.1) = 7 (high nibble of byte 4)
  const std::vector<float> y = DequantizeOrDie(DType::kQ4_0, q, 32);
  EXPECT_EQ(y[0], -8.0f);
  EXPECT_EQ(y[1], 7.0f);
  EXPECT_EQ(y[2], 3.0f);
  EXPECT_EQ(y[20], -1.0f);
}

TEST(Quantize, Q8_0KnownBlock) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16) * 0.5f;  // amax 8
  x[31] = 63.5f;                                                          // amax 63.5 -> d = 0.5
  const std::vector<uint8_t> q = QuantizeOrDie(DType::kQ8_0, x);
  uint16_t d;
  std::memcpy(&d, q.data(), 2);
  EXPECT_EQ(d, kHalfHalf);
  for (int j = 0; j < 31; ++j) EXPECT_EQ(static_cast<int8_t>(q[2 + j]), j - 16) << j;
  EXPECT_EQ(static_cast<int8_t>(q[2 + 31]), 127);
}

// ---- F16 / BF16 / E4M3 conversions --------------------------------------------------------------

TEST(Convert, F16EdgeCases) {
  EXPECT_EQ(F32ToF16(0.0f), 0x0000);
  EXPECT_EQ(F32ToF16(-0.0f), 0x8000);
  EXPECT_EQ(F32ToF16(1.0f), 0x3C00);
  EXPECT_EQ(F32ToF16(-2.0f), 0xC000);
  EXPECT_EQ(F32ToF16(65504.0f), 0x7BFF);
  EXPECT_EQ(F32ToF16(65519.0f), 0x7BFF);
  EXPECT_EQ(F32ToF16(65520.0f), 0x7C00);  // rounds to inf
  EXPECT_EQ(F32ToF16(1e10f), 0x7C00);
  EXPECT_EQ(F32ToF16(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(F32ToF16(-std::numeric_limits<float>::infinity()), 0xFC00);
  const uint16_t nan = F32ToF16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x03FF, 0);
  EXPECT_NE(F32ToF16(FromBits(0x7F800001u)) & 0x03FF, 0);  // signalling NaN stays NaN
  EXPECT_EQ(F32ToF16(0x1p-14f), 0x0400);                   // smallest normal
  EXPECT_EQ(F32ToF16(0x1p-24f), 0x0001);                   // smallest subnormal
  EXPECT_EQ(F32ToF16(0x1p-25f), 0x0000);                   // tie -> even (0)
  EXPECT_EQ(F32ToF16(0x1.000002p-25f), 0x0001);            // just above the tie
  EXPECT_EQ(F32ToF16(0x1.8p-24f), 0x0002);                 // 1.5 units -> 2
  EXPECT_EQ(F32ToF16(0x1.4p-23f), 0x0002);                 // 2.5 units -> 2
  EXPECT_EQ(F32ToF16(1023 * 0x1p-24f), 0x03FF);            // largest subnormal
  EXPECT_EQ(F32ToF16(0x1.ffcp-15f), 0x0400);               // rounds up into the normals
  EXPECT_EQ(F32ToF16(1.0f + 0x1p-11f), 0x3C00);            // tie -> even
  EXPECT_EQ(F32ToF16(1.0f + 3 * 0x1p-11f), 0x3C02);        // tie -> even (up)
  EXPECT_EQ(F32ToF16(FromBits(0x00000001u)), 0x0000);      // f32 subnormal
  EXPECT_EQ(F32ToF16(-FromBits(0x00000001u)), 0x8000);

  EXPECT_EQ(F16ToF32(0x0001), 0x1p-24f);
  EXPECT_EQ(F16ToF32(0x03FF), 1023 * 0x1p-24f);
  EXPECT_EQ(F16ToF32(0x8001), -0x1p-24f);
  EXPECT_EQ(Bits(F16ToF32(0x8000)), 0x80000000u);
  EXPECT_EQ(F16ToF32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(F16ToF32(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(F16ToF32(0x7E00)));
  EXPECT_TRUE(std::isnan(F16ToF32(0x7C01)));
  EXPECT_TRUE(std::isnan(F16ToF32(0xFD00)));

  // Every half survives f16 -> f32 -> f16 (NaNs stay NaN).
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = F16ToF32(static_cast<uint16_t>(h));
    const bool is_nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0;
    ASSERT_EQ(std::isnan(f), is_nan) << h;
    if (!is_nan) {
      ASSERT_EQ(F32ToF16(f), h) << h;
    } else {
      ASSERT_TRUE(std::isnan(F16ToF32(F32ToF16(f)))) << h;
    }
  }
}

#if defined(__F16C__)
// The hardware conversion (x86 F16C, round to nearest even) as an independent oracle.
TEST(Convert, F16MatchesF16CHardware) {
  std::mt19937 rng(99);
  for (int i = 0; i < 2000000; ++i) {
    uint32_t u = rng();
    if (i % 4 == 0) u = (u & 0x87FFFFFFu) | 0x30000000u;  // bias towards the half range
    const float f = FromBits(u);
    if (std::isnan(f)) continue;
    const uint16_t hw = static_cast<uint16_t>(_cvtss_sh(f, 0));
    ASSERT_EQ(F32ToF16(f), hw) << std::hex << u;
  }
  for (uint32_t h = 0; h < 65536; ++h) {
    const float hw = _cvtsh_ss(static_cast<uint16_t>(h));
    const float sw = F16ToF32(static_cast<uint16_t>(h));
    if (std::isnan(hw)) {
      ASSERT_TRUE(std::isnan(sw));
    } else {
      ASSERT_EQ(Bits(sw), Bits(hw)) << h;
    }
  }
}
#endif

// Row conversion (which may use F16C for F16) gives exactly the scalar conversions' bits, for
// every code including NaNs, and for a length that is not a multiple of the vector width.
TEST(Convert, RowConversionMatchesScalar) {
  std::vector<uint16_t> halves(65536 + 5);
  for (size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<uint16_t>(i * 40503u);
  const int64_t n = static_cast<int64_t>(halves.size());
  std::vector<float> y(halves.size());
  ASSERT_TRUE(Dequantize(DType::kF16, halves.data(), y.data(), n).ok());
  for (size_t i = 0; i < halves.size(); ++i) ASSERT_EQ(Bits(y[i]), Bits(F16ToF32(halves[i]))) << i;
  ASSERT_TRUE(Dequantize(DType::kBF16, halves.data(), y.data(), n).ok());
  for (size_t i = 0; i < halves.size(); ++i) {
    ASSERT_EQ(Bits(y[i]), Bits(BF16ToF32(halves[i]))) << i;
  }
  std::vector<uint8_t> codes(256 + 3);
  for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<uint8_t>(i * 7);
  ASSERT_TRUE(
      Dequantize(DType::kF8_E4M3, codes.data(), y.data(), static_cast<int64_t>(codes.size())).ok());
  for (size_t i = 0; i < codes.size(); ++i) {
    ASSERT_EQ(Bits(y[i]), Bits(F8E4M3ToF32(codes[i]))) << i;
  }
}

TEST(Convert, BF16EdgeCases) {
  EXPECT_EQ(F32ToBF16(1.0f), 0x3F80);
  EXPECT_EQ(F32ToBF16(-2.0f), 0xC000);
  EXPECT_EQ(F32ToBF16(FromBits(0x3F808000u)), 0x3F80);  // tie -> even (down)
  EXPECT_EQ(F32ToBF16(FromBits(0x3F818000u)), 0x3F82);  // tie -> even (up)
  EXPECT_EQ(F32ToBF16(FromBits(0x3F808001u)), 0x3F81);  // above the tie
  EXPECT_EQ(F32ToBF16(FromBits(0x3F807FFFu)), 0x3F80);  // below the tie
  EXPECT_EQ(F32ToBF16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(F32ToBF16(-std::numeric_limits<float>::infinity()), 0xFF80);
  EXPECT_EQ(F32ToBF16(FromBits(0x7F7FFFFFu)), 0x7F80);  // FLT_MAX rounds to inf, as in ggml
  EXPECT_EQ(F32ToBF16(FromBits(0x7F800001u)), 0x7FC0);  // signalling NaN -> quiet, payload cut
  EXPECT_EQ(F32ToBF16(FromBits(0xFFC00000u)), 0xFFC0);
  EXPECT_EQ(F32ToBF16(FromBits(0x7FFFFFFFu)), 0x7FFF);
  EXPECT_EQ(F32ToBF16(FromBits(0x00008000u)), 0x0000);  // subnormal tie -> even, not flushed
  EXPECT_EQ(F32ToBF16(FromBits(0x00018000u)), 0x0002);
  EXPECT_EQ(Bits(BF16ToF32(0x8001)), 0x80010000u);
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = BF16ToF32(static_cast<uint16_t>(h));
    ASSERT_EQ(Bits(f), h << 16);
    if (!std::isnan(f)) {
      ASSERT_EQ(F32ToBF16(f), h) << h;
    } else {
      ASSERT_EQ(F32ToBF16(f), h | 0x40) << h;
    }
  }
}

TEST(Convert, F8E4M3EdgeCases) {
  EXPECT_EQ(F8E4M3ToF32(0x00), 0.0f);
  EXPECT_EQ(Bits(F8E4M3ToF32(0x80)), 0x80000000u);
  EXPECT_EQ(F8E4M3ToF32(0x38), 1.0f);
  EXPECT_EQ(F8E4M3ToF32(0xB8), -1.0f);
  EXPECT_EQ(F8E4M3ToF32(0x01), 0x1p-9f);  // smallest subnormal
  EXPECT_EQ(F8E4M3ToF32(0x07), 7 * 0x1p-9f);
  EXPECT_EQ(F8E4M3ToF32(0x08), 0x1p-6f);  // smallest normal
  EXPECT_EQ(F8E4M3ToF32(0x7E), 448.0f);   // max
  EXPECT_EQ(F8E4M3ToF32(0xFE), -448.0f);
  EXPECT_EQ(F8E4M3ToF32(0x78), 256.0f);  // exponent 15 is a normal exponent (no infinities)
  EXPECT_TRUE(std::isnan(F8E4M3ToF32(0x7F)));
  EXPECT_TRUE(std::isnan(F8E4M3ToF32(0xFF)));
  int nans = 0;
  for (int v = 0; v < 256; ++v) {
    const float f = F8E4M3ToF32(static_cast<uint8_t>(v));
    if (std::isnan(f)) {
      ++nans;
      continue;
    }
    EXPECT_FALSE(std::isinf(f));
    EXPECT_EQ(F32ToF8E4M3(f), v) << v;
  }
  EXPECT_EQ(nans, 2);
  EXPECT_EQ(F32ToF8E4M3(460.0f), 0x7E);
  EXPECT_EQ(F32ToF8E4M3(464.0f), 0x7E);  // tie between 448 and 480 -> even (448)
  EXPECT_EQ(F32ToF8E4M3(470.0f) & 0x7F, 0x7F);
  EXPECT_EQ(F32ToF8E4M3(1e6f), 0x7F);
  EXPECT_EQ(F32ToF8E4M3(-1e6f), 0xFF);
  EXPECT_EQ(F32ToF8E4M3(std::numeric_limits<float>::infinity()), 0x7F);
  EXPECT_EQ(F32ToF8E4M3(std::numeric_limits<float>::quiet_NaN()) & 0x7F, 0x7F);
  EXPECT_EQ(F32ToF8E4M3(0x1p-10f), 0x00);        // tie between 0 and 2^-9 -> even
  EXPECT_EQ(F32ToF8E4M3(0x1.8p-10f), 0x01);      // above the tie
  EXPECT_EQ(F32ToF8E4M3(3 * 0x1p-10f), 0x02);    // 1.5 units -> 2
  EXPECT_EQ(F32ToF8E4M3(0x1.fp-7f), 0x08);       // rounds up into the normals
  EXPECT_EQ(F32ToF8E4M3(1.0f + 0x1p-4f), 0x38);  // tie -> even
  EXPECT_EQ(F32ToF8E4M3(1.0f + 3 * 0x1p-4f), 0x3A);
  EXPECT_EQ(F32ToF8E4M3(-0.0f), 0x80);
}

// ---- 4. DotRef ----------------------------------------------------------------------------------

TEST(DotRef, EqualsSumOfDequantizedProductsForEveryType) {
  constexpr int64_t kN = 1024;
  const std::vector<float> w = RandomNormal(kN, 11, 0.05f);
  const std::vector<float> x = RandomNormal(kN, 12);
  std::vector<DType> types = ComputableTypes();
  types.push_back(DType::kQ8_1);
  for (DType type : types) {
    SCOPED_TRACE(Traits(type).name);
    const std::vector<uint8_t> q = QuantizeOrDie(type, w);
    const std::vector<float> y = DequantizeOrDie(type, q, kN);
    double sum = 0, sum_abs = 0;
    for (int64_t i = 0; i < kN; ++i) {
      sum += static_cast<double>(y[i]) * x[i];
      sum_abs += std::fabs(static_cast<double>(y[i]) * x[i]);
    }
    const float dot = DotRef(type, q.data(), x.data(), kN);
    EXPECT_NEAR(dot, sum, 1e-5 * sum_abs);
    // Exactly dequantize-then-accumulate in float, block by block.
    const int64_t bs = Traits(type).block_size;
    float total = 0;
    for (int64_t b = 0; b < kN; b += (bs == 1 ? kN : bs)) {
      float part = 0;
      for (int64_t j = b; j < (bs == 1 ? kN : b + bs); ++j) part += y[j] * x[j];
      total += part;
    }
    EXPECT_EQ(dot, total);
  }
  EXPECT_TRUE(std::isnan(DotRef(DType::kIQ2_XXS, w.data(), x.data(), 256)));
  EXPECT_TRUE(std::isnan(DotRef(DType::kQ8_0, w.data(), x.data(), 31)));
  EXPECT_EQ(DotRef(DType::kQ8_0, nullptr, nullptr, 0), 0.0f);
}

// ---- 5. the type table --------------------------------------------------------------------------

TEST(DTypeTable, MatchesGgml) {
  struct Want {
    DType type;
    uint32_t id;
    const char* name;
    int64_t block, size;
    bool compute;
  };
  const Want want[] = {
      {DType::kF32, 0, "F32", 1, 4, true},
      {DType::kF16, 1, "F16", 1, 2, true},
      {DType::kQ4_0, 2, "Q4_0", 32, 18, true},
      {DType::kQ4_1, 3, "Q4_1", 32, 20, true},
      {DType::kQ5_0, 6, "Q5_0", 32, 22, true},
      {DType::kQ5_1, 7, "Q5_1", 32, 24, true},
      {DType::kQ8_0, 8, "Q8_0", 32, 34, true},
      {DType::kQ8_1, 9, "Q8_1", 32, 36, false},
      {DType::kQ2_K, 10, "Q2_K", 256, 84, true},
      {DType::kQ3_K, 11, "Q3_K", 256, 110, true},
      {DType::kQ4_K, 12, "Q4_K", 256, 144, true},
      {DType::kQ5_K, 13, "Q5_K", 256, 176, true},
      {DType::kQ6_K, 14, "Q6_K", 256, 210, true},
      {DType::kQ8_K, 15, "Q8_K", 256, 292, true},
      {DType::kIQ2_XXS, 16, "IQ2_XXS", 256, 66, false},
      {DType::kIQ2_XS, 17, "IQ2_XS", 256, 74, false},
      {DType::kIQ3_XXS, 18, "IQ3_XXS", 256, 98, false},
      {DType::kIQ1_S, 19, "IQ1_S", 256, 50, false},
      {DType::kIQ4_NL, 20, "IQ4_NL", 32, 18, true},
      {DType::kIQ3_S, 21, "IQ3_S", 256, 110, false},
      {DType::kIQ2_S, 22, "IQ2_S", 256, 82, false},
      {DType::kIQ4_XS, 23, "IQ4_XS", 256, 136, true},
      {DType::kI8, 24, "I8", 1, 1, false},
      {DType::kI16, 25, "I16", 1, 2, false},
      {DType::kI32, 26, "I32", 1, 4, false},
      {DType::kI64, 27, "I64", 1, 8, false},
      {DType::kF64, 28, "F64", 1, 8, false},
      {DType::kIQ1_M, 29, "IQ1_M", 256, 56, false},
      {DType::kBF16, 30, "BF16", 1, 2, true},
      {DType::kTQ1_0, 34, "TQ1_0", 256, 54, false},
      {DType::kTQ2_0, 35, "TQ2_0", 256, 66, false},
      {DType::kMXFP4, 39, "MXFP4", 32, 17, false},
      {DType::kF8_E4M3, 1000, "F8_E4M3", 1, 1, true},
  };
  for (const Want& w : want) {
    SCOPED_TRACE(w.name);
    EXPECT_EQ(static_cast<uint32_t>(w.type), w.id);
    const std::optional<DTypeTraits> t = GetDTypeTraits(w.id);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->type, w.type);
    EXPECT_EQ(t->name, w.name);
    EXPECT_EQ(t->block_size, w.block);
    EXPECT_EQ(t->type_size, w.size);
    EXPECT_EQ(t->can_compute, w.compute);
    EXPECT_EQ(Traits(w.type).type_size, w.size);
    EXPECT_EQ(DTypeFromName(w.name), w.type);
    std::string lower = w.name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(DTypeFromName(lower), w.type);  // ggml's own spelling is lower case ("q4_K")
  }
  for (uint32_t id : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 40u, 999u, 1001u}) {
    EXPECT_FALSE(GetDTypeTraits(id).has_value()) << id;
  }
  EXPECT_FALSE(DTypeFromName("Q4_2").has_value());
  EXPECT_FALSE(DTypeFromName("").has_value());
  EXPECT_EQ(DTypeFromName("q4_k"), DType::kQ4_K);
}

TEST(DTypeTable, RowBytes) {
  EXPECT_EQ(*RowBytes(DType::kF32, 7), 28u);
  EXPECT_EQ(*RowBytes(DType::kQ4_K, 512), 288u);
  EXPECT_EQ(*RowBytes(DType::kQ6_K, 768), 630u);
  EXPECT_EQ(*RowBytes(DType::kQ8_0, 64), 68u);
  EXPECT_EQ(*RowBytes(DType::kIQ4_XS, 256), 136u);
  EXPECT_EQ(*RowBytes(DType::kIQ2_XXS, 256), 66u);  // sizes are known even where we cannot compute
  EXPECT_EQ(*RowBytes(DType::kF8_E4M3, 3), 3u);
  EXPECT_EQ(*RowBytes(DType::kQ4_0, 0), 0u);
  EXPECT_FALSE(RowBytes(DType::kQ4_K, 100).ok());
  EXPECT_FALSE(RowBytes(DType::kQ4_0, -32).ok());
  EXPECT_FALSE(RowBytes(static_cast<DType>(4), 32).ok());
  EXPECT_FALSE(RowBytes(DType::kF64, std::numeric_limits<int64_t>::max()).ok());
  EXPECT_FALSE(RowBytes(DType::kQ8_0, std::numeric_limits<int64_t>::max() / 32 * 32).ok());
  EXPECT_TRUE(RowBytes(DType::kQ4_0, std::numeric_limits<int64_t>::max() / 32 * 32).ok());
  EXPECT_TRUE(RowBytes(DType::kQ8_K, int64_t{1} << 60).ok());  // 2^52 blocks * 292 bytes fits
  EXPECT_TRUE(RowBytes(DType::kI8, std::numeric_limits<int64_t>::max()).ok());
  EXPECT_EQ(*RowBytes(DType::kQ4_0, int64_t{1} << 40), (uint64_t{1} << 35) * 18);
}

}  // namespace
}  // namespace fathom
