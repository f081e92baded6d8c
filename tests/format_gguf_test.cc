// Tests of the GGUF reader and writer: real fixtures, writer round trips, and handcrafted bad
// files.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "format/mapped_file.h"
#include "gtest/gtest.h"
#include "support/fixtures.h"
#include "support/gguf_value_equal.h"

namespace fathom {
namespace {

constexpr char kStories[] = "stories260K/stories260K.gguf";

// ---- helpers
// -------------------------------------------------------------------------------------

// Little-endian byte builder for handcrafted files.
struct Bytes {
  std::string s;
  Bytes& Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    return *this;
  }
  Bytes& U8(uint8_t v) { return Le(v, 1); }
  Bytes& U32(uint32_t v) { return Le(v, 4); }
  Bytes& U64(uint64_t v) { return Le(v, 8); }
  Bytes& F32(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return U32(u);
  }
  Bytes& Str(const std::string& v) {
    U64(v.size());
    s += v;
    return *this;
  }
  Bytes& Raw(const std::string& v) {
    s += v;
    return *this;
  }
  Bytes& PadTo(size_t a) {
    while (s.size() % a != 0) s.push_back('\0');
    return *this;
  }
};

struct RawKv {
  std::string key;
  uint32_t type;
  std::string payload;  // the encoded value
};
struct RawTensor {
  std::string name;
  std::vector<uint64_t> dims;
  uint32_t type = 0;
  uint64_t offset = 0;
};
// A handcrafted GGUF file; every field can be set to nonsense.
struct RawFile {
  std::string magic = "GGUF";
  uint32_t version = 3;
  std::vector<RawKv> kvs;
  std::vector<RawTensor> tensors;
  std::optional<uint64_t> tensor_count, kv_count;  // override the real counts
  uint64_t alignment = 32;                         // padding before the data section
  uint64_t data_bytes = 0;                         // zero bytes of tensor data

  std::string Build() const {
    Bytes b;
    b.Raw(magic).U32(version);
    b.U64(tensor_count.value_or(tensors.size())).U64(kv_count.value_or(kvs.size()));
    for (const RawKv& kv : kvs) b.Str(kv.key).U32(kv.type).Raw(kv.payload);
    for (const RawTensor& t : tensors) {
      b.Str(t.name).U32(static_cast<uint32_t>(t.dims.size()));
      for (uint64_t d : t.dims) b.U64(d);
      b.U32(t.type).U64(t.offset);
    }
    b.PadTo(alignment);
    b.s.append(data_bytes, '\0');
    return b.s;
  }
};

RawKv U32Kv(const std::string& key, uint32_t v) { return {key, 4, Bytes().U32(v).s}; }
RawKv StrKv(const std::string& key, const std::string& v) { return {key, 8, Bytes().Str(v).s}; }

// A small valid file: two kvs and two F32 tensors of 8 elements (32 bytes each, so no padding
// follows the last tensor and every strict prefix is invalid).
RawFile SmallValid() {
  RawFile f;
  f.kvs = {StrKv("general.architecture", "llama"), U32Kv("llama.block_count", 2)};
  f.tensors = {{"a", {8}, 0, 0}, {"b", {4, 2}, 0, 32}};
  f.data_bytes = 64;
  return f;
}

absl::StatusOr<std::unique_ptr<GgufFile>> ParseBytes(const std::string& bytes) {
  return GgufFile::Parse(MappedFile::FromBuffer(bytes.data(), bytes.size()));
}

// Parsing must fail, with a message containing every one of `needles`.
void ExpectError(const std::string& bytes, std::initializer_list<std::string> needles) {
  absl::StatusOr<std::unique_ptr<GgufFile>> g = ParseBytes(bytes);
  ASSERT_FALSE(g.ok()) << "expected an error containing '" << *needles.begin() << "'";
  const std::string msg(g.status().message());
  EXPECT_TRUE(g.status().code() == absl::StatusCode::kInvalidArgument ||
              g.status().code() == absl::StatusCode::kDataLoss)
      << g.status();
  EXPECT_EQ(msg.rfind("gguf: ", 0), 0u) << msg;
  for (const std::string& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << msg;
}

uint64_t Checksum(const uint8_t* p, uint64_t n) {
  uint64_t h = 1469598103934665603ull;
  for (uint64_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

GgufValue V(GgufType t, std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> v) {
  GgufValue out;
  out.type = t;
  out.value = std::move(v);
  return out;
}
GgufValue Arr(GgufType elem, std::vector<GgufValue> values) {
  GgufArray a;
  a.element_type = elem;
  a.values = std::move(values);
  return V(GgufType::kArray, std::move(a));
}

std::vector<std::string> FixtureGgufs() {
  std::vector<std::string> out;
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root = testing::FixturesDir();
  for (const char* dir : {"llamacpp", "vocab", "stories260K"}) {
    fs::path d = root / dir;
    if (!fs::is_directory(d, ec)) continue;
    for (fs::recursive_directory_iterator it(d, ec), end; it != end; it.increment(ec)) {
      if (ec) break;
      if (it->is_regular_file(ec) && it->path().extension() == ".gguf") {
        out.push_back(it->path().string());
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/fathom_format_" + std::to_string(::getpid()) + "_" + name;
}

// ---- real files
// ----------------------------------------------------------------------------------

TEST(GgufReader, Stories260K) {
  FATHOM_REQUIRE_FIXTURE(kStories);
  absl::StatusOr<std::unique_ptr<GgufFile>> g = GgufFile::Open(testing::FixturePath(kStories));
  ASSERT_TRUE(g.ok()) << g.status();
  const GgufFile& f = **g;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  EXPECT_EQ(f.GetString("general.architecture").value_or(""), "llama");
  EXPECT_EQ(f.GetInt("llama.embedding_length").value_or(-1), 64);
  EXPECT_EQ(f.GetUint("llama.embedding_length").value_or(0), 64u);
  EXPECT_EQ(f.GetInt("llama.block_count").value_or(-1), 5);
  EXPECT_EQ(f.GetInt("llama.attention.head_count").value_or(-1), 8);
  EXPECT_EQ(f.GetInt("llama.attention.head_count_kv").value_or(-1), 4);
  EXPECT_EQ(f.GetInt("llama.feed_forward_length").value_or(-1), 172);
  EXPECT_NEAR(f.GetFloat("llama.attention.layer_norm_rms_epsilon").value_or(0), 1e-5, 1e-9);
  EXPECT_EQ(f.GetFloat("llama.embedding_length").value_or(0), 64.0);  // ints read as floats
  EXPECT_EQ(f.GetUint("tokenizer.ggml.seperator_token_id").value_or(0), 0xFFFFFFFFu);

  absl::StatusOr<std::vector<std::string>> tokens = f.GetStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_EQ(tokens->size(), 512u);
  EXPECT_EQ((*tokens)[0], "<unk>");
  EXPECT_EQ((*tokens)[1], "<s>");
  EXPECT_EQ((*tokens)[2], "</s>");
  absl::StatusOr<std::vector<double>> scores = f.GetFloatArray("tokenizer.ggml.scores");
  ASSERT_TRUE(scores.ok()) << scores.status();
  EXPECT_EQ(scores->size(), 512u);
  absl::StatusOr<std::vector<int64_t>> types = f.GetIntArray("tokenizer.ggml.token_type");
  ASSERT_TRUE(types.ok()) << types.status();
  ASSERT_EQ(types->size(), 512u);
  EXPECT_EQ((*types)[0], 2);  // UNKNOWN
  EXPECT_EQ((*types)[1], 3);  // CONTROL

  // Type mismatches and missing keys name the key.
  absl::StatusOr<std::string> bad = f.GetString("llama.block_count");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("llama.block_count"), absl::string_view::npos);
  EXPECT_FALSE(f.GetBool("general.architecture").ok());
  EXPECT_FALSE(f.GetIntArray("tokenizer.ggml.tokens").ok());
  EXPECT_FALSE(f.GetStringArray("tokenizer.ggml.scores").ok());
  EXPECT_FALSE(f.GetInt("tokenizer.ggml.scores").ok());
  absl::StatusOr<int64_t> missing = f.GetInt("no.such.key");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("no.such.key"), absl::string_view::npos);
  EXPECT_EQ(f.Find("no.such.key"), nullptr);

  EXPECT_EQ(f.tensor_infos().size(), 48u);
  ASSERT_TRUE(f.HasTensor("token_embd.weight"));
  absl::StatusOr<TensorView> emb = f.GetTensor("token_embd.weight");
  ASSERT_TRUE(emb.ok()) << emb.status();
  EXPECT_EQ(emb->type, DType::kF32);
  EXPECT_EQ(emb->dims, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(emb->n_elements, 64 * 512);
  EXPECT_EQ(emb->n_bytes, 64u * 512u * 4u);
  EXPECT_GE(emb->data, f.file()->data() + f.data_offset());
  EXPECT_LE(emb->data + emb->n_bytes, f.file()->data() + f.file()->size());
  absl::StatusOr<TensorView> out = f.GetTensor("output.weight");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(std::memcmp(out->data, emb->data, emb->n_bytes), 0);  // tied copy
  absl::StatusOr<TensorView> norm = f.GetTensor("blk.0.attn_norm.weight");
  ASSERT_TRUE(norm.ok());
  EXPECT_EQ(norm->dims, std::vector<int64_t>{64});
  absl::StatusOr<TensorView> nope = f.GetTensor("blk.99.nope");
  ASSERT_FALSE(nope.ok());
  EXPECT_EQ(nope.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(nope.status().message().find("blk.99.nope"), absl::string_view::npos);
  EXPECT_FALSE(f.HasTensor("blk.99.nope"));
}

TEST(GgufReader, TensorViewKeepsMappingAlive) {
  FATHOM_REQUIRE_FIXTURE(kStories);
  TensorView v;
  uint64_t before = 0;
  {
    absl::StatusOr<std::unique_ptr<GgufFile>> g = GgufFile::Open(testing::FixturePath(kStories));
    ASSERT_TRUE(g.ok()) << g.status();
    absl::StatusOr<TensorView> t = (*g)->GetTensor("token_embd.weight");
    ASSERT_TRUE(t.ok());
    v = *t;
    before = Checksum(v.data, v.n_bytes);
  }
  EXPECT_EQ(Checksum(v.data, v.n_bytes), before);
}

TEST(GgufReader, EveryFixtureLoads) {
  const std::vector<std::string> files = FixtureGgufs();
  if (files.empty()) {
    if (testing::RunningInCi()) FAIL() << "no GGUF fixtures found";
    GTEST_SKIP() << "no GGUF fixtures found";
  }
  int with_tensors = 0;
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    absl::StatusOr<std::unique_ptr<GgufFile>> g = GgufFile::Open(path);
    ASSERT_TRUE(g.ok()) << g.status();
    const GgufFile& f = **g;
    EXPECT_TRUE(f.version() == 2 || f.version() == 3);
    EXPECT_TRUE(f.GetString("general.architecture").ok());
    uint64_t total = 0;
    for (const GgufTensorInfo& info : f.tensor_infos()) {
      absl::StatusOr<TensorView> v = f.GetTensor(info.name);
      ASSERT_TRUE(v.ok()) << v.status();
      EXPECT_EQ(v->n_bytes, info.n_bytes);
      EXPECT_LE(v->data + v->n_bytes, f.file()->data() + f.file()->size());
      (void)Checksum(v->data, v->n_bytes);
      total += v->n_bytes;
    }
    EXPECT_LE(total, f.file()->size());
    if (!f.tensor_infos().empty()) ++with_tensors;
  }
  EXPECT_GE(with_tensors, 1);
}

// Re-serializing a llama.cpp-written file with GgufWriter reproduces it byte for byte: the writer
// lays files out exactly as llama.cpp does.
TEST(GgufWriter, RewritesFixturesByteIdentically) {
  const std::vector<std::string> files = FixtureGgufs();
  if (files.empty()) GTEST_SKIP() << "no GGUF fixtures found";
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    absl::StatusOr<std::unique_ptr<GgufFile>> g = GgufFile::Open(path);
    ASSERT_TRUE(g.ok()) << g.status();
    const GgufFile& f = **g;
    if (f.version() != 3) continue;
    GgufWriter w(f.alignment());
    for (const GgufKeyValue& kv : f.metadata()) w.SetValue(kv.key, kv.value);
    for (const GgufTensorInfo& info : f.tensor_infos()) {
      absl::StatusOr<TensorView> v = f.GetTensor(info.name);
      ASSERT_TRUE(v.ok());
      ASSERT_TRUE(w.AddTensor(info.name, info.type, info.dims, v->data, v->n_bytes).ok());
    }
    absl::StatusOr<std::vector<uint8_t>> bytes = w.Serialize();
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    const std::string original = testing::ReadFile(path);
    // Files without tensors may or may not end with the padding after the tensor infos.
    ASSERT_GE(bytes->size(), original.size());
    EXPECT_LT(bytes->size() - original.size(), f.tensor_infos().empty() ? f.alignment() : 1u);
    EXPECT_EQ(std::memcmp(bytes->data(), original.data(), original.size()), 0);
  }
}

// ---- writer
// --------------------------------------------------------------------------------------

TEST(GgufWriter, RoundTripsEveryValueTypeAndTensors) {
  GgufWriter w;
  w.SetString("general.architecture", "test");
  w.SetUint32("t.u32", 4000000000u);
  w.SetInt32("t.i32", -2000000000);
  w.SetUint64("t.u64", std::numeric_limits<uint64_t>::max());
  w.SetFloat32("t.f32", 1.5f);
  w.SetBool("t.bool_true", true);
  w.SetBool("t.bool_false", false);
  w.SetStringArray("t.strs", {"a", "", std::string("x\0y", 3), "\xE2\x96\x81hello"});
  w.SetFloat32Array("t.f32s", {0.25f, -1.0f, 3.0e38f});
  w.SetInt32Array("t.i32s", {1, -2, std::numeric_limits<int32_t>::min()});
  std::vector<std::pair<std::string, GgufValue>> extra = {
      {"t.u8", V(GgufType::kUint8, uint64_t{200})},
      {"t.i8", V(GgufType::kInt8, int64_t{-100})},
      {"t.u16", V(GgufType::kUint16, uint64_t{60000})},
      {"t.i16", V(GgufType::kInt16, int64_t{-30000})},
      {"t.i64", V(GgufType::kInt64, std::numeric_limits<int64_t>::min())},
      {"t.f64", V(GgufType::kFloat64, 3.141592653589793)},
      {"t.str_nul", V(GgufType::kString, std::string("a\0b", 3))},
      {"t.empty_str", V(GgufType::kString, std::string())},
      {"t.u8s", Arr(GgufType::kUint8,
                    {V(GgufType::kUint8, uint64_t{0}), V(GgufType::kUint8, uint64_t{255})})},
      {"t.bools", Arr(GgufType::kBool, {V(GgufType::kBool, true), V(GgufType::kBool, false)})},
      {"t.empty", Arr(GgufType::kFloat64, {})},
      {"t.nested",
       Arr(GgufType::kArray,
           {Arr(GgufType::kInt64,
                {V(GgufType::kInt64, int64_t{1}), V(GgufType::kInt64, int64_t{-2})}),
            Arr(GgufType::kInt64, {}), Arr(GgufType::kInt64, {V(GgufType::kInt64, int64_t{3})})})},
      {"t.nested3", Arr(GgufType::kArray,
                        {Arr(GgufType::kArray,
                             {Arr(GgufType::kString, {V(GgufType::kString, std::string("deep"))}),
                              Arr(GgufType::kUint16, {V(GgufType::kUint16, uint64_t{7})})})})},
  };
  for (const auto& [k, v] : extra) w.SetValue(k, v);
  w.SetUint32("t.u32", 4000000001u);  // replaces, keeps position

  std::vector<float> f32(6);
  for (size_t i = 0; i < f32.size(); ++i) f32[i] = static_cast<float>(i) * 0.5f;
  std::vector<uint8_t> f16(4 * 2, 0x3C), q8(2 * 2 * 34), q4k(144), i32(5 * 4);
  for (size_t i = 0; i < q8.size(); ++i) q8[i] = static_cast<uint8_t>(i * 7);
  for (size_t i = 0; i < q4k.size(); ++i) q4k[i] = static_cast<uint8_t>(255 - i);
  for (size_t i = 0; i < i32.size(); ++i) i32[i] = static_cast<uint8_t>(i);
  ASSERT_TRUE(w.AddTensor("f32", DType::kF32, {3, 2}, f32.data(), 24).ok());
  ASSERT_TRUE(w.AddTensor("f16", DType::kF16, {4}, f16.data(), 8).ok());
  ASSERT_TRUE(w.AddTensor("q8", DType::kQ8_0, {64, 2}, q8.data(), q8.size()).ok());
  ASSERT_TRUE(w.AddTensor("q4k", DType::kQ4_K, {256, 1, 1, 1}, q4k.data(), q4k.size()).ok());
  ASSERT_TRUE(w.AddTensor("i32", DType::kI32, {5}, i32.data(), i32.size()).ok());

  absl::StatusOr<std::vector<uint8_t>> bytes = w.Serialize();
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  std::string buf(bytes->begin(), bytes->end());
  absl::StatusOr<std::unique_ptr<GgufFile>> g = ParseBytes(buf);
  ASSERT_TRUE(g.ok()) << g.status();
  const GgufFile& f = **g;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.Find("general.alignment"), nullptr);  // default alignment is not written

  EXPECT_EQ(f.metadata().size(), 10u + extra.size());
  EXPECT_EQ(f.metadata()[1].key, "t.u32");
  EXPECT_EQ(f.GetUint("t.u32").value_or(0), 4000000001u);
  EXPECT_EQ(f.GetInt("t.i32").value_or(0), -2000000000);
  EXPECT_EQ(f.GetUint("t.u64").value_or(0), std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(f.GetInt("t.u64").ok());   // does not fit in int64
  EXPECT_FALSE(f.GetUint("t.i32").ok());  // negative
  EXPECT_EQ(f.GetFloat("t.f32").value_or(0), 1.5);
  EXPECT_EQ(f.GetBool("t.bool_true").value_or(false), true);
  EXPECT_EQ(f.GetBool("t.bool_false").value_or(true), false);
  EXPECT_EQ(f.GetStringArray("t.strs").value_or(std::vector<std::string>{}),
            (std::vector<std::string>{"a", "", std::string("x\0y", 3), "\xE2\x96\x81hello"}));
  EXPECT_EQ(f.GetFloatArray("t.f32s").value_or(std::vector<double>{}),
            (std::vector<double>{0.25, -1.0, static_cast<double>(3.0e38f)}));
  EXPECT_EQ(f.GetIntArray("t.i32s").value_or(std::vector<int64_t>{}),
            (std::vector<int64_t>{1, -2, std::numeric_limits<int32_t>::min()}));
  EXPECT_EQ(f.GetFloatArray("t.i32s").value_or(std::vector<double>{}),
            (std::vector<double>{1, -2, std::numeric_limits<int32_t>::min()}));
  EXPECT_FALSE(f.GetIntArray("t.f32s").ok());
  EXPECT_EQ(f.GetInt("t.i64").value_or(0), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f.GetInt("t.u8").value_or(0), 200);
  EXPECT_EQ(f.GetInt("t.i8").value_or(0), -100);
  EXPECT_EQ(f.GetFloat("t.f64").value_or(0), 3.141592653589793);
  for (const auto& [k, v] : extra) {
    const GgufValue* got = f.Find(k);
    ASSERT_NE(got, nullptr) << k;
    EXPECT_TRUE(testing::SameGgufValue(*got, v)) << k;
  }

  ASSERT_EQ(f.tensor_infos().size(), 5u);
  struct Expect {
    const char* name;
    DType type;
    std::vector<int64_t> dims;
    const uint8_t* data;
    size_t n;
  };
  for (const Expect& e : std::vector<Expect>{
           {"f32", DType::kF32, {3, 2}, reinterpret_cast<const uint8_t*>(f32.data()), 24},
           {"f16", DType::kF16, {4}, f16.data(), f16.size()},
           {"q8", DType::kQ8_0, {64, 2}, q8.data(), q8.size()},
           {"q4k", DType::kQ4_K, {256, 1, 1, 1}, q4k.data(), q4k.size()},
           {"i32", DType::kI32, {5}, i32.data(), i32.size()}}) {
    SCOPED_TRACE(e.name);
    absl::StatusOr<TensorView> v = f.GetTensor(e.name);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->type, e.type);
    EXPECT_EQ(v->dims, e.dims);
    ASSERT_EQ(v->n_bytes, e.n);
    EXPECT_EQ(std::memcmp(v->data, e.data, e.n), 0);
    EXPECT_EQ((v->data - f.file()->data()) % 32, 0);
  }
  EXPECT_EQ(f.tensor_infos()[2].n_elements, 128);

  // Through a real file as well.
  const std::string path = TempPath("roundtrip.gguf");
  ASSERT_TRUE(w.WriteFile(path).ok());
  absl::StatusOr<std::unique_ptr<GgufFile>> g2 = GgufFile::Open(path);
  ASSERT_TRUE(g2.ok()) << g2.status();
  EXPECT_EQ((*g2)->tensor_infos().size(), 5u);
  EXPECT_EQ(testing::ReadFile(path), buf);
  std::remove(path.c_str());
}

TEST(GgufWriter, NonDefaultAlignmentIsWrittenAndHonoured) {
  GgufWriter w(64);
  w.SetString("general.architecture", "test");
  std::vector<uint8_t> a(12), b(40, 1);
  ASSERT_TRUE(w.AddTensor("a", DType::kF32, {3}, a.data(), a.size()).ok());
  ASSERT_TRUE(w.AddTensor("b", DType::kI8, {40}, b.data(), b.size()).ok());
  absl::StatusOr<std::vector<uint8_t>> bytes = w.Serialize();
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  std::string buf(bytes->begin(), bytes->end());
  absl::StatusOr<std::unique_ptr<GgufFile>> g = ParseBytes(buf);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->alignment(), 64u);
  EXPECT_EQ((*g)->GetUint("general.alignment").value_or(0), 64u);
  EXPECT_EQ((*g)->data_offset() % 64, 0u);
  EXPECT_EQ((*g)->tensor_infos()[1].offset, 64u);
  EXPECT_EQ(buf.size() % 64, 0u);

  GgufWriter bad_align(48);
  EXPECT_FALSE(bad_align.Serialize().ok());
  GgufWriter zero_align(0);
  EXPECT_FALSE(zero_align.Serialize().ok());
  GgufWriter conflicting(64);
  conflicting.SetUint32("general.alignment", 32);
  EXPECT_FALSE(conflicting.Serialize().ok());
}

TEST(GgufWriter, RejectsInvalidTensorsAndValues) {
  GgufWriter w;
  std::vector<uint8_t> buf(1024);
  auto expect_bad = [&](const absl::Status& s, const std::string& needle) {
    ASSERT_FALSE(s.ok()) << needle;
    EXPECT_NE(std::string(s.message()).find(needle), std::string::npos) << s;
  };
  expect_bad(w.AddTensor("x", DType::kF32, {4}, buf.data(), 15), "15 bytes given");
  expect_bad(w.AddTensor("x", DType::kQ4_0, {33}, buf.data(), 18), "block size");
  expect_bad(w.AddTensor("x", DType::kF32, {}, buf.data(), 0), "dims");
  expect_bad(w.AddTensor("x", DType::kF32, {1, 1, 1, 1, 1}, buf.data(), 4), "dims");
  expect_bad(w.AddTensor("x", DType::kF32, {0}, buf.data(), 0), "not positive");
  expect_bad(w.AddTensor("x", DType::kF32, {-4}, buf.data(), 0), "not positive");
  expect_bad(w.AddTensor("x", static_cast<DType>(77), {4}, buf.data(), 4), "unknown type");
  expect_bad(w.AddTensor("", DType::kF32, {4}, buf.data(), 16), "empty name");
  expect_bad(w.AddTensor(std::string(64, 'n'), DType::kF32, {4}, buf.data(), 16), "llama.cpp");
  expect_bad(w.AddTensor("x", DType::kF32, {int64_t{1} << 62, 8}, buf.data(), 16), "overflow");
  expect_bad(w.AddTensor("x", DType::kF32, {4}, nullptr, 16), "null");
  ASSERT_TRUE(w.AddTensor("x", DType::kF32, {4}, buf.data(), 16).ok());
  expect_bad(w.AddTensor("x", DType::kF32, {4}, buf.data(), 16), "twice");
  ASSERT_TRUE(w.Serialize().ok());

  auto expect_bad_value = [&](const GgufValue& v, const std::string& needle) {
    GgufWriter vw;
    vw.SetValue("k.bad", v);
    absl::StatusOr<std::vector<uint8_t>> s = vw.Serialize();
    ASSERT_FALSE(s.ok()) << needle;
    EXPECT_NE(std::string(s.status().message()).find(needle), std::string::npos) << s.status();
    EXPECT_NE(std::string(s.status().message()).find("k.bad"), std::string::npos) << s.status();
  };
  expect_bad_value(V(GgufType::kUint8, uint64_t{256}), "does not fit");
  expect_bad_value(V(GgufType::kInt8, int64_t{-129}), "does not fit");
  expect_bad_value(V(GgufType::kUint32, int64_t{-1}), "negative");
  expect_bad_value(V(GgufType::kString, int64_t{1}), "string");
  expect_bad_value(V(GgufType::kFloat32, uint64_t{1}), "double");
  expect_bad_value(Arr(GgufType::kUint8, {V(GgufType::kInt8, int64_t{1})}), "element 0");
  expect_bad_value(V(static_cast<GgufType>(99), uint64_t{1}), "unknown value type");
  GgufValue deep = Arr(GgufType::kUint8, {});
  for (int i = 0; i < 8; ++i) deep = Arr(GgufType::kArray, {deep});
  expect_bad_value(deep, "nested");

  GgufWriter empty_key;
  empty_key.SetBool("", true);
  EXPECT_FALSE(empty_key.Serialize().ok());
}

// ---- handcrafted files
// ---------------------------------------------------------------------------

TEST(GgufReader, ReadsVersion2) {
  RawFile f;
  f.version = 2;
  f.kvs = {StrKv("general.architecture", "llama"),
           {"v2.f32", 6, Bytes().F32(0.5f).s},
           {"v2.arr", 9, Bytes().U32(5).U64(2).U32(7).U32(static_cast<uint32_t>(-8)).s},
           {"v2.bool", 7, Bytes().U8(1).s},
           {"v2.i16", 3, Bytes().Le(0xFFFE, 2).s}};
  f.tensors = {{"w", {32, 2}, 8 /* Q8_0 */, 0}, {"n", {3}, 0, 96}};
  f.data_bytes = 96 + 12;
  const std::string bytes = f.Build();
  absl::StatusOr<std::unique_ptr<GgufFile>> g = ParseBytes(bytes);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->version(), 2u);
  EXPECT_EQ((*g)->GetString("general.architecture").value_or(""), "llama");
  EXPECT_EQ((*g)->GetFloat("v2.f32").value_or(0), 0.5);
  EXPECT_EQ((*g)->GetIntArray("v2.arr").value_or(std::vector<int64_t>{}),
            (std::vector<int64_t>{7, -8}));
  EXPECT_EQ((*g)->GetBool("v2.bool").value_or(false), true);
  EXPECT_EQ((*g)->GetInt("v2.i16").value_or(0), -2);
  absl::StatusOr<TensorView> w = (*g)->GetTensor("w");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->type, DType::kQ8_0);
  EXPECT_EQ(w->n_bytes, 68u);
  EXPECT_EQ(w->n_elements, 64);
  EXPECT_EQ(w->data, reinterpret_cast<const uint8_t*>(bytes.data()) + (*g)->data_offset());
}

TEST(GgufReader, SmallValidFileParses) {
  const std::string bytes = SmallValid().Build();
  absl::StatusOr<std::unique_ptr<GgufFile>> g = ParseBytes(bytes);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->tensor_infos().size(), 2u);
  EXPECT_EQ((*g)->data_offset() + 64, bytes.size());
}

TEST(GgufReader, BadMagic) {
  RawFile f = SmallValid();
  f.magic = "GGML";
  ExpectError(f.Build(), {"magic", "GGML"});
  ExpectError("GG", {"too small"});
  ExpectError("", {"too small"});
}

TEST(GgufReader, BadVersion) {
  RawFile f = SmallValid();
  f.version = 1;
  ExpectError(f.Build(), {"version 1", "not supported"});
  f.version = 4;
  ExpectError(f.Build(), {"version 4"});
  f.version = 0x03000000;  // a big-endian v3 file read as little-endian
  ExpectError(f.Build(), {"big-endian"});
}

TEST(GgufReader, BadDims) {
  RawFile f = SmallValid();
  f.tensors[1].dims = {1, 1, 1, 1, 8};
  ExpectError(f.Build(), {"tensor 1 'b'", "n_dims 5"});
  f.tensors[1].dims = {};
  ExpectError(f.Build(), {"'b'", "n_dims 0"});
  f.tensors[1].dims = {8, 0};
  ExpectError(f.Build(), {"'b'", "dims[1] is 0"});
  f.tensors[1].dims = {8, ~uint64_t{0}};  // -1
  ExpectError(f.Build(), {"'b'", "dims[1]", "not a positive int64"});
  f.tensors[1].dims = {uint64_t{1} << 32, uint64_t{1} << 32};
  ExpectError(f.Build(), {"'b'", "overflows int64"});
  f.tensors[1].dims = {uint64_t{1} << 40, uint64_t{1} << 21};  // 2^61 elements, 2^63 bytes
  ExpectError(f.Build(), {"'b'", "byte size"});
}

TEST(GgufReader, BadTensorType) {
  RawFile f = SmallValid();
  f.tensors[0].type = 4;  // Q4_2: removed from ggml
  ExpectError(f.Build(), {"'a'", "unknown tensor type id 4"});
  f.tensors[0].type = 0xFFFFFFFF;
  ExpectError(f.Build(), {"'a'", "unknown tensor type id 4294967295"});
  f = SmallValid();
  f.tensors[0].type = 2;  // Q4_0: 8 is not a multiple of 32
  ExpectError(f.Build(), {"'a'", "dims[0] = 8", "block size 32", "Q4_0"});
}

TEST(GgufReader, BadOffsets) {
  RawFile f = SmallValid();
  f.tensors[1].offset = 64;
  ExpectError(f.Build(), {"'b'", "extends past end of file", "size"});
  f.tensors[1].offset = ~uint64_t{0} - 31;  // aligned, wraps around when added
  ExpectError(f.Build(), {"'b'", "extends past end of file"});
  f.tensors[1].offset = 36;
  ExpectError(f.Build(), {"'b'", "offset 36", "alignment 32"});
  f.tensors[1].offset = 0;
  ExpectError(f.Build(), {"overlaps", "'a'", "'b'"});
  f = SmallValid();
  f.data_bytes = 63;
  ExpectError(f.Build(), {"'b'", "extends past end of file"});
}

TEST(GgufReader, DuplicateNames) {
  RawFile f = SmallValid();
  f.tensors[1].name = "a";
  ExpectError(f.Build(), {"duplicate tensor name 'a'"});
  f = SmallValid();
  f.kvs[1].key = "general.architecture";
  ExpectError(f.Build(), {"duplicate key 'general.architecture'"});
  f = SmallValid();
  f.kvs[1].key = "";
  ExpectError(f.Build(), {"empty key"});
  f = SmallValid();
  f.tensors[0].name = "";
  ExpectError(f.Build(), {"empty name"});
}

TEST(GgufReader, HugeLengthsAndCounts) {
  RawFile f = SmallValid();
  f.kvs[0].payload = Bytes().U64(9000000000000000000ull).Raw("llama").s;
  ExpectError(f.Build(),
              {"string length 9000000000000000000 exceeds remaining", "general.architecture"});
  f = SmallValid();
  f.kvs.push_back({"huge.array", 9, Bytes().U32(4).U64(uint64_t{1} << 61).s});
  ExpectError(f.Build(), {"array length 2305843009213693952 exceeds remaining", "huge.array"});
  f.kvs.back().payload = Bytes().U32(8).U64(1000).Str("x").s;  // 1000 strings need 8000 bytes
  ExpectError(f.Build(), {"array length 1000", "huge.array"});
  f.kvs.back().payload = Bytes().U32(9).U64(1u << 20).s;  // nested arrays need 12 bytes each
  ExpectError(f.Build(), {"array length 1048576"});
  f.kvs.back().payload = Bytes().U32(8).U64(2).Str("ok").U64(uint64_t{1} << 40).s;
  ExpectError(f.Build(), {"string length 1099511627776 exceeds remaining", "(array element 1)"});
  f.kvs.back().payload = Bytes().U32(13).U64(0).s;
  ExpectError(f.Build(), {"unknown array element type 13"});
  f = SmallValid();
  f.kv_count = ~uint64_t{0};
  ExpectError(f.Build(), {"kv count 18446744073709551615"});
  f = SmallValid();
  f.tensor_count = uint64_t{1} << 40;
  ExpectError(f.Build(), {"tensor count 1099511627776"});
  f = SmallValid();
  f.kvs[0].key = std::string();
  f.kvs[0].type = 8;
  std::string bytes = f.Build();
  // Key length field of kv 0 sits right after the 24-byte header.
  const uint64_t huge = ~uint64_t{0};
  std::memcpy(bytes.data() + 24, &huge, 8);
  ExpectError(bytes, {"at offset 24", "string length 18446744073709551615"});
}

TEST(GgufReader, BadValues) {
  RawFile f = SmallValid();
  f.kvs.push_back({"bad.type", 13, Bytes().U8(0).s});
  ExpectError(f.Build(), {"'bad.type'", "unknown value type 13"});
  f.kvs.back() = {"bad.bool", 7, Bytes().U8(2).s};
  ExpectError(f.Build(), {"'bad.bool'", "bool value 2"});
  // Nesting: 9 levels of arrays.
  Bytes deep;
  for (int i = 0; i < 9; ++i) deep.U32(9).U64(1);
  deep.U32(0).U64(0);
  f.kvs.back() = {"bad.deep", 9, deep.s};
  ExpectError(f.Build(), {"'bad.deep'", "nested deeper than 8"});
  // 8 levels are fine.
  Bytes ok;
  for (int i = 0; i < 7; ++i) ok.U32(9).U64(1);
  ok.U32(0).U64(1).U8(42);
  f.kvs.back() = {"ok.deep", 9, ok.s};
  absl::StatusOr<std::unique_ptr<GgufFile>> g = ParseBytes(f.Build());
  ASSERT_TRUE(g.ok()) << g.status();
}

TEST(GgufReader, BadAlignment) {
  RawFile f = SmallValid();
  f.kvs.push_back(U32Kv("general.alignment", 0));
  ExpectError(f.Build(), {"general.alignment", "alignment 0"});
  f.kvs.back() = U32Kv("general.alignment", 48);
  ExpectError(f.Build(), {"general.alignment", "alignment 48", "power of two"});
  f.kvs.back() = {"general.alignment", 10, Bytes().U64(32).s};
  ExpectError(f.Build(), {"general.alignment", "must be uint32", "uint64"});
  // A valid non-default alignment moves the data section.
  f = SmallValid();
  f.kvs.push_back(U32Kv("general.alignment", 64));
  f.alignment = 64;
  f.tensors[1].offset = 64;
  f.data_bytes = 96;
  std::string bytes = f.Build();
  absl::StatusOr<std::unique_ptr<GgufFile>> g = ParseBytes(bytes);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->alignment(), 64u);
  EXPECT_EQ((*g)->data_offset() % 64, 0u);
  f.tensors[1].offset = 32;  // aligned to the default but not to 64
  ExpectError(f.Build(), {"'b'", "offset 32", "alignment 64"});
}

TEST(GgufReader, TruncatedAtEveryByte) {
  const std::string full = SmallValid().Build();
  ASSERT_TRUE(ParseBytes(full).ok());
  for (size_t n = 0; n < full.size(); ++n) {
    // An exactly sized heap copy, so that sanitizers catch any read past the end.
    std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    absl::StatusOr<std::unique_ptr<GgufFile>> g =
        GgufFile::Parse(MappedFile::FromBuffer(prefix.data(), prefix.size()));
    ASSERT_FALSE(g.ok()) << "prefix of " << n << " bytes parsed";
    EXPECT_FALSE(g.status().message().empty());
    if (n >= 4) {
      EXPECT_EQ(g.status().code(), absl::StatusCode::kDataLoss) << g.status();
    }
  }
}

// ---- mapped files
// --------------------------------------------------------------------------------

TEST(MappedFile, ErrorsNamePathAndReason) {
  absl::StatusOr<std::shared_ptr<MappedFile>> m = MappedFile::Open("/nonexistent/dir/x.gguf");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(m.status().message().find("/nonexistent/dir/x.gguf"), absl::string_view::npos);
  EXPECT_NE(m.status().message().find("No such file"), absl::string_view::npos) << m.status();
  absl::StatusOr<std::shared_ptr<MappedFile>> d = MappedFile::Open(::testing::TempDir());
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("not a regular file"), absl::string_view::npos) << d.status();
  absl::StatusOr<std::unique_ptr<GgufFile>> g = GgufFile::Open("/nonexistent/dir/x.gguf");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("/nonexistent/dir/x.gguf"), absl::string_view::npos);
}

TEST(MappedFile, HugePageCopyHoldsTheFileBytes) {
  // Sizes around the 2 MiB rounding of the copy, an empty file, and a missing one.
  for (const size_t size : {size_t{0}, size_t{1}, size_t{4097}, (size_t{2} << 20) + 3}) {
    const std::string path = TempPath("copy_" + std::to_string(size) + ".bin");
    std::string bytes(size, '\0');
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + 7) & 0xFF);
    { std::ofstream(path, std::ios::binary) << bytes; }
    absl::StatusOr<std::shared_ptr<MappedFile>> m = MappedFile::Open(path, MapMode::kHugePageCopy);
    ASSERT_TRUE(m.ok()) << m.status();
    ASSERT_EQ((*m)->size(), size);
    if (size == 0) {
      EXPECT_EQ((*m)->data(), nullptr);
      continue;
    }
    EXPECT_TRUE((*m)->huge_page_copy());
    EXPECT_EQ(std::memcmp((*m)->data(), bytes.data(), size), 0);
    absl::StatusOr<std::shared_ptr<MappedFile>> mapped = MappedFile::Open(path);
    ASSERT_TRUE(mapped.ok());
    EXPECT_FALSE((*mapped)->huge_page_copy());
  }
  EXPECT_EQ(MappedFile::Open("/nonexistent/x.gguf", MapMode::kHugePageCopy).status().code(),
            absl::StatusCode::kNotFound);
  // The whole parse works on a copy as on a mapping.
  const std::string path = TempPath("copy_valid.gguf");
  { std::ofstream(path, std::ios::binary) << SmallValid().Build(); }
  absl::StatusOr<std::unique_ptr<GgufFile>> g = GgufFile::Open(path, MapMode::kHugePageCopy);
  ASSERT_TRUE(g.ok()) << g.status();
}

TEST(MappedFile, EmptyAndSmallFiles) {
  const std::string path = TempPath("empty.gguf");
  { std::ofstream(path, std::ios::binary); }
  absl::StatusOr<std::shared_ptr<MappedFile>> m = MappedFile::Open(path);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->size(), 0u);
  EXPECT_EQ((*m)->data(), nullptr);
  EXPECT_EQ((*m)->path(), path);
  absl::StatusOr<std::unique_ptr<GgufFile>> g = GgufFile::Open(path);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find(path), absl::string_view::npos) << g.status();

  const std::string bytes = SmallValid().Build();
  { std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes; }
  absl::StatusOr<std::shared_ptr<MappedFile>> m2 = MappedFile::Open(path);
  ASSERT_TRUE(m2.ok()) << m2.status();
  ASSERT_EQ((*m2)->size(), bytes.size());
  EXPECT_EQ(std::memcmp((*m2)->data(), bytes.data(), bytes.size()), 0);
  std::remove(path.c_str());
  // The mapping outlives the unlinked file.
  EXPECT_EQ(std::memcmp((*m2)->data(), bytes.data(), bytes.size()), 0);

  std::shared_ptr<MappedFile> buf = MappedFile::FromBuffer(bytes.data(), bytes.size());
  EXPECT_EQ(buf->data(), reinterpret_cast<const uint8_t*>(bytes.data()));
  EXPECT_EQ(buf->size(), bytes.size());
  EXPECT_EQ(GgufFile::Parse(nullptr).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fathom
