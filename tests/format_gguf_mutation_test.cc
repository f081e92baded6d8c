// Mutation fuzzing of the GGUF reader: thousands of deterministic corruptions of stories260K.gguf
// (truncations, bit flips, byte overwrites, lying counts/lengths/dims/offsets) must each either
// parse into in-bounds tensor views or fail with a message; never crash or read out of bounds.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "format/gguf_reader.h"
#include "format/mapped_file.h"
#include "gtest/gtest.h"
#include "support/fixtures.h"

namespace fathom {
namespace {

constexpr char kStories[] = "stories260K/stories260K.gguf";

// splitmix64: a tiny deterministic generator whose output is the same on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }

 private:
  uint64_t s_;
};

// Where each structural field of the (trusted) original file lives.
enum class Kind {
  kCount,
  kKeyLen,
  kValueType,
  kStrLen,
  kArrType,
  kArrCount,
  kNameLen,
  kNDims,
  kDim,
  kTensorType,
  kOffset
};
struct Field {
  uint64_t pos;
  int width;  // 4 or 8 bytes
  Kind kind;
};
struct Layout {
  std::vector<Field> fields;
  uint64_t infos_begin = 0;  // first tensor info
  uint64_t meta_end = 0;     // end of the tensor infos
  uint64_t data_offset = 0;
};

uint64_t LoadLe(const std::vector<uint8_t>& b, uint64_t pos, int width) {
  uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) v = (v << 8) | b[pos + static_cast<uint64_t>(i)];
  return v;
}
void StoreLe(std::vector<uint8_t>& b, uint64_t pos, int width, uint64_t v) {
  for (int i = 0; i < width; ++i)
    b[pos + static_cast<uint64_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
}

// A minimal walker over the known-good original (no validation needed: it is trusted).
class Walker {
 public:
  Walker(const std::vector<uint8_t>& b, Layout* l) : b_(b), l_(l) {}
  uint64_t Take(int width, Kind kind) {
    l_->fields.push_back({pos_, width, kind});
    const uint64_t v = LoadLe(b_, pos_, width);
    pos_ += static_cast<uint64_t>(width);
    return v;
  }
  void Value(uint32_t type) {
    static constexpr int kSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == 8) {
      pos_ += Take(8, Kind::kStrLen);
    } else if (type == 9) {
      const uint32_t elem = static_cast<uint32_t>(Take(4, Kind::kArrType));
      const uint64_t n = Take(8, Kind::kArrCount);
      for (uint64_t i = 0; i < n; ++i) Value(elem);
    } else {
      pos_ += static_cast<uint64_t>(kSizes[type]);
    }
  }
  void Run() {
    pos_ = 8;
    const uint64_t n_tensors = Take(8, Kind::kCount);
    const uint64_t n_kvs = Take(8, Kind::kCount);
    uint64_t alignment = 32;
    for (uint64_t i = 0; i < n_kvs; ++i) {
      const uint64_t key_len = Take(8, Kind::kKeyLen);
      const std::string key(reinterpret_cast<const char*>(&b_[pos_]), key_len);
      pos_ += key_len;
      const uint32_t type = static_cast<uint32_t>(Take(4, Kind::kValueType));
      if (key == "general.alignment") alignment = LoadLe(b_, pos_, 4);
      Value(type);
    }
    l_->infos_begin = pos_;
    for (uint64_t i = 0; i < n_tensors; ++i) {
      pos_ += Take(8, Kind::kNameLen);
      const uint32_t n_dims = static_cast<uint32_t>(Take(4, Kind::kNDims));
      for (uint32_t d = 0; d < n_dims; ++d) Take(8, Kind::kDim);
      Take(4, Kind::kTensorType);
      Take(8, Kind::kOffset);
    }
    l_->meta_end = pos_;
    l_->data_offset = (pos_ + alignment - 1) / alignment * alignment;
  }

 private:
  const std::vector<uint8_t>& b_;
  Layout* l_;
  uint64_t pos_ = 0;
};

struct Stats {
  int variants = 0;
  int parsed = 0;
  int rejected = 0;
  std::map<std::string, int> per_family;
};

volatile uint64_t g_sink = 0;

uint64_t ChecksumBytes(const uint8_t* p, uint64_t n) {
  uint64_t h = 0;
  uint64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001B3ull;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

// Parses `buf` (exactly sized, so sanitizers see any overread) and checks the outcome.
void CheckVariant(const std::vector<uint8_t>& buf, const std::string& family,
                  const std::string& what, Stats* stats) {
  ++stats->variants;
  ++stats->per_family[family];
  absl::StatusOr<std::unique_ptr<GgufFile>> g =
      GgufFile::Parse(MappedFile::FromBuffer(buf.data(), buf.size()));
  if (!g.ok()) {
    ++stats->rejected;
    const std::string msg(g.status().message());
    EXPECT_FALSE(msg.empty()) << what;
    EXPECT_EQ(msg.rfind("gguf: ", 0), 0u) << what << ": " << msg;
    return;
  }
  ++stats->parsed;
  const GgufFile& f = **g;
  const uint8_t* begin = buf.data();
  const uint8_t* end = buf.data() + buf.size();
  EXPECT_LE(f.data_offset(), buf.size() + f.alignment()) << what;
  uint64_t h = 0;
  for (const GgufTensorInfo& info : f.tensor_infos()) {
    absl::StatusOr<TensorView> v = f.GetTensor(info.name);
    ASSERT_TRUE(v.ok()) << what << ": " << v.status();
    ASSERT_GE(v->data, begin + f.data_offset()) << what;
    ASSERT_LE(v->n_bytes, static_cast<uint64_t>(end - v->data)) << what;
    h ^= ChecksumBytes(v->data, v->n_bytes);
  }
  // Touch the metadata too.
  for (const GgufKeyValue& kv : f.metadata()) h ^= kv.key.size();
  g_sink = g_sink ^ h;  // keeps the reads from being optimised away
}

TEST(GgufMutation, ThousandsOfCorruptedStoriesFiles) {
  FATHOM_REQUIRE_FIXTURE(kStories);
  const std::string original_str = testing::ReadFile(testing::FixturePath(kStories));
  ASSERT_FALSE(original_str.empty());
  const std::vector<uint8_t> original(original_str.begin(), original_str.end());
  const uint64_t size = original.size();
  {
    absl::StatusOr<std::unique_ptr<GgufFile>> g =
        GgufFile::Parse(MappedFile::FromBuffer(original.data(), original.size()));
    ASSERT_TRUE(g.ok()) << g.status();
  }
  Layout layout;
  Walker(original, &layout).Run();
  ASSERT_GT(layout.meta_end, layout.infos_begin);
  ASSERT_LE(layout.data_offset, size);
  const auto start = std::chrono::steady_clock::now();
  Stats stats;
  Rng rng(0x5EED'F00Dull);

  // 1. Truncations: every byte through the header, metadata and tensor infos (every 3rd byte in
  //    the long token list), sparse in the data section.
  {
    std::vector<uint64_t> cuts;
    for (uint64_t n = 0; n < layout.meta_end; ++n) {
      if (n < 4096 || n >= layout.infos_begin - 64 || n % 3 == 0) cuts.push_back(n);
    }
    for (uint64_t n = layout.meta_end; n <= layout.data_offset; ++n) cuts.push_back(n);
    for (int i = 0; i < 150; ++i)
      cuts.push_back(layout.data_offset + rng.Below(size - layout.data_offset));
    for (uint64_t back : {1, 2, 3, 4, 31, 32, 33, 4096}) cuts.push_back(size - back);
    for (uint64_t n : cuts) {
      std::vector<uint8_t> prefix(original.begin(),
                                  original.begin() + static_cast<std::ptrdiff_t>(n));
      CheckVariant(prefix, "truncate", "truncated to " + std::to_string(n), &stats);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

  // The remaining families mutate one exactly sized copy in place and restore it afterwards.
  std::vector<uint8_t> buf = original;
  auto restore = [&](uint64_t pos, uint64_t n) {
    std::memcpy(buf.data() + pos, original.data() + pos, n);
  };
  // Mutations land in the header/metadata/tensor-info region, half of them in the header or the
  // tensor infos, which are small but dense with structure.
  auto meta_pos = [&]() -> uint64_t {
    switch (rng.Below(4)) {
      case 0:
        return rng.Below(64);
      case 1:
        return layout.infos_begin + rng.Below(layout.meta_end - layout.infos_begin);
      default:
        return rng.Below(layout.meta_end);
    }
  };

  // 2. Random bit flips (1 to 3 bits).
  for (int i = 0; i < 2000; ++i) {
    uint64_t pos[3];
    const int n = 1 + static_cast<int>(rng.Below(3));
    for (int k = 0; k < n; ++k) {
      pos[k] = meta_pos();
      buf[pos[k]] ^= static_cast<uint8_t>(1u << rng.Below(8));
    }
    CheckVariant(buf, "bitflip", "bit flip near " + std::to_string(pos[0]), &stats);
    for (int k = 0; k < n; ++k) restore(pos[k], 1);
    if (::testing::Test::HasFatalFailure()) return;
  }

  // 3. Random byte overwrites (1 to 8 consecutive bytes: random, 0x00 or 0xFF).
  for (int i = 0; i < 1500; ++i) {
    const uint64_t pos = meta_pos();
    const uint64_t n = std::min<uint64_t>(1 + rng.Below(8), layout.meta_end - pos);
    const uint64_t style = rng.Below(3);
    for (uint64_t k = 0; k < n; ++k) {
      buf[pos + k] = style == 0 ? 0x00 : style == 1 ? 0xFF : static_cast<uint8_t>(rng.Next());
    }
    CheckVariant(buf, "overwrite", "overwrite at " + std::to_string(pos), &stats);
    restore(pos, n);
    if (::testing::Test::HasFatalFailure()) return;
  }

  // 4. Lying fields: counts, key/string/name lengths, array counts and types, n_dims, dims, type
  //    ids and offsets overwritten at their real positions with hostile values.
  {
    std::vector<Field> targets;
    std::vector<Field> str_lens;
    for (const Field& f : layout.fields) {
      if (f.kind == Kind::kStrLen) {
        str_lens.push_back(f);
      } else {
        targets.push_back(f);
      }
    }
    for (int i = 0; i < 48 && !str_lens.empty(); ++i) {
      targets.push_back(str_lens[rng.Below(str_lens.size())]);
    }
    const uint64_t kMax = ~uint64_t{0};
    for (const Field& f : targets) {
      const uint64_t orig = LoadLe(original, f.pos, f.width);
      std::vector<uint64_t> values;
      if (f.width == 4) {
        values = {0, 1, 2, 3, 4, 5, 8, 9, 12, 13, 31, 39, 1000, 0x80000000u, 0xFFFFFFFFu};
      } else {
        values = {0,         1,          orig - 1, orig + 1, orig * 2, 1ull << 31,  1ull << 32,
                  kMax >> 1, 1ull << 63, kMax,     kMax - 7, size,     size - f.pos};
        if (f.kind == Kind::kOffset) {
          values.insert(values.end(),
                        {orig + 32, orig - 32, orig + 4, orig + 16, size - layout.data_offset,
                         kMax - 31, (size - layout.data_offset) & ~uint64_t{31}});
        }
        if (f.kind == Kind::kDim) {
          values.insert(values.end(), {orig * 4, orig + 32, 1ull << 40, kMax - (orig - 1)});
        }
      }
      for (uint64_t v : values) {
        if (f.width == 4) v &= 0xFFFFFFFFu;
        if (v == orig) continue;
        StoreLe(buf, f.pos, f.width, v);
        CheckVariant(buf, "field", "field at " + std::to_string(f.pos) + " = " + std::to_string(v),
                     &stats);
        restore(f.pos, static_cast<uint64_t>(f.width));
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }

  // 5. Several tensor infos lying at once: offsets of two tensors swapped or made equal.
  {
    std::vector<Field> offsets;
    for (const Field& f : layout.fields) {
      if (f.kind == Kind::kOffset) offsets.push_back(f);
    }
    for (int i = 0; i < 200 && offsets.size() >= 2; ++i) {
      const Field& a = offsets[rng.Below(offsets.size())];
      const Field& b = offsets[rng.Below(offsets.size())];
      if (a.pos == b.pos) continue;
      const uint64_t va = LoadLe(original, a.pos, 8);
      const uint64_t vb = LoadLe(original, b.pos, 8);
      StoreLe(buf, a.pos, 8, vb);
      if (i % 2 == 0) StoreLe(buf, b.pos, 8, va);
      CheckVariant(buf, "offsets", "offsets swapped", &stats);
      restore(a.pos, 8);
      restore(b.pos, 8);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

  EXPECT_EQ(buf, original);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string families;
  for (const auto& [name, n] : stats.per_family) families += " " + name + "=" + std::to_string(n);
  std::printf("gguf mutation: %d variants (%d parsed, %d rejected) in %.2f s;%s\n", stats.variants,
              stats.parsed, stats.rejected, secs, families.c_str());
  EXPECT_GE(stats.variants, 3000);
  EXPECT_GT(stats.parsed, 0);
  EXPECT_GT(stats.rejected, stats.variants / 2);
}

}  // namespace
}  // namespace fathom
