// Tests of the safetensors reader and Hugging Face checkpoint folders: the DeepSeek fixtures,
// sharded folders written here, and handcrafted hostile files and indexes.
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "format/hf_checkpoint.h"
#include "format/mapped_file.h"
#include "format/safetensors_reader.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/fixtures.h"

namespace fathom {
namespace {

using Json = nlohmann::json;

// ---- helpers ----------------------------------------------------------------------------------

struct TensorSpec {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

std::string Le64(uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return s;
}

// A file from a raw header text and a raw data section.
std::string RawFile(const std::string& header, const std::string& data) {
  return Le64(header.size()) + header + data;
}

// A valid safetensors file: tensors laid out back to back, header padded to 8 bytes with spaces.
std::string WriteSafetensors(const std::vector<TensorSpec>& tensors,
                             const Json& metadata = Json(nullptr)) {
  Json header = Json::object();
  if (!metadata.is_null()) header["__metadata__"] = metadata;
  std::string data;
  for (const TensorSpec& t : tensors) {
    header[t.name] = {{"dtype", t.dtype},
                      {"shape", t.shape},
                      {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data += t.bytes;
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text.push_back(' ');
  return RawFile(text, data);
}

std::string F32Bytes(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

// Parses `bytes` from an exactly-sized heap copy (so ASan sees any overread); keeps the copy alive.
struct Parsed {
  std::unique_ptr<std::vector<uint8_t>> buffer;
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> file;
};
Parsed ParseBytes(const std::string& bytes) {
  Parsed p;
  p.buffer = std::make_unique<std::vector<uint8_t>>(bytes.begin(), bytes.end());
  p.file = SafetensorsFile::Parse(MappedFile::FromBuffer(p.buffer->data(), p.buffer->size()));
  return p;
}

// Expects `bytes` to be rejected with a message containing every one of `needles`.
void ExpectRejected(const std::string& bytes, const std::vector<std::string>& needles) {
  Parsed p = ParseBytes(bytes);
  ASSERT_FALSE(p.file.ok()) << "accepted a bad file; expected an error mentioning "
                            << (needles.empty() ? "" : needles[0]);
  const std::string msg(p.file.status().message());
  for (const std::string& n : needles) {
    EXPECT_NE(msg.find(n), std::string::npos) << "message '" << msg << "' lacks '" << n << "'";
  }
}

// Header text of one tensor entry with the given raw JSON fields.
std::string OneTensorHeader(const std::string& name, const std::string& fields) {
  return "{\"" + name + "\":{" + fields + "}}";
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << "cannot write " << path;
}

// A fresh temporary folder, removed at the end of the test.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir();
    if (tmpl.empty() || tmpl.back() != '/') tmpl += '/';
    tmpl += "fathom_st_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    ASSERT_NE(mkdtemp(buf.data()), nullptr);
    dir_ = buf.data();
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  void Write(const std::string& name, const std::string& bytes) { WriteFile(Path(name), bytes); }
  void WriteConfig() { Write("config.json", R"({"model_type": "deepseek_v3", "hidden_size": 8})"); }

  // Opens the folder and expects an error with `code` whose message contains every needle.
  void ExpectOpenFails(absl::StatusCode code, const std::vector<std::string>& needles) {
    absl::StatusOr<std::unique_ptr<HfCheckpoint>> ckpt = HfCheckpoint::Open(dir_);
    ASSERT_FALSE(ckpt.ok()) << "accepted a bad folder";
    EXPECT_EQ(ckpt.status().code(), code) << ckpt.status();
    const std::string msg(ckpt.status().message());
    for (const std::string& n : needles) {
      EXPECT_NE(msg.find(n), std::string::npos) << "message '" << msg << "' lacks '" << n << "'";
    }
  }

  std::string dir_;
};

// ---- fixtures ---------------------------------------------------------------------------------

void ExpectContiguous(const SafetensorsFile& f) {
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | f.file()->data()[i];
  const uint8_t* pos = f.file()->data() + 8 + header_len;
  for (const SafetensorsTensor& t : f.tensors()) {
    EXPECT_EQ(t.data, pos) << t.name;
    pos += t.n_bytes;
  }
  EXPECT_EQ(pos, f.file()->data() + f.file()->size());
}

TEST(SafetensorsFixtures, V3Tiny) {
  FATHOM_REQUIRE_FIXTURE("deepseek/v3-tiny/model.safetensors");
  absl::StatusOr<std::unique_ptr<HfCheckpoint>> ckpt =
      HfCheckpoint::Open(testing::FixturePath("deepseek/v3-tiny"));
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  const HfCheckpoint& c = **ckpt;
  ASSERT_TRUE(c.config().is_object());
  EXPECT_EQ(c.config().value("num_hidden_layers", 0), 4);
  EXPECT_EQ(c.config().value("hidden_size", 0), 128);
  EXPECT_EQ(c.TensorNames().size(), 221u);
  EXPECT_FALSE(c.HasTokenizerFiles());

  const SafetensorsTensor* embed = c.Find("model.embed_tokens.weight");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->type, DType::kF32);
  EXPECT_EQ(embed->dtype_name, "F32");
  EXPECT_EQ(embed->shape, (std::vector<int64_t>{1024, 128}));
  EXPECT_EQ(embed->n_elements, 1024 * 128);
  EXPECT_EQ(embed->n_bytes, 1024u * 128 * 4);
  // The bytes are the file's: compare with the test-support reader.
  const auto expected =
      testing::ReadSafetensors(testing::FixturePath("deepseek/v3-tiny/model.safetensors"));
  const auto it = expected.find("model.embed_tokens.weight");
  ASSERT_NE(it, expected.end());
  ASSERT_EQ(it->second.f32.size(), 1024u * 128);
  EXPECT_EQ(std::memcmp(embed->data, it->second.f32.data(), embed->n_bytes), 0);

  const SafetensorsTensor* qb = c.Find("model.layers.0.self_attn.q_b_proj.weight");
  ASSERT_NE(qb, nullptr);
  EXPECT_EQ(qb->shape, (std::vector<int64_t>{192, 160}));
  EXPECT_TRUE(c.Has("lm_head.weight"));
  EXPECT_TRUE(c.Has("model.layers.0.input_layernorm.weight"));
  EXPECT_FALSE(c.Has("model.embed_tokens"));
  EXPECT_FALSE(c.Has(""));

  // Directly through the file reader as well.
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> f =
      SafetensorsFile::Open(testing::FixturePath("deepseek/v3-tiny/model.safetensors"));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->tensors().size(), 221u);
  EXPECT_EQ((*f)->metadata().at("format"), "pt");
  ExpectContiguous(**f);
  EXPECT_EQ((*f)->tensors().front().name, "lm_head.weight");  // offset 0
  EXPECT_TRUE(IsDirectory(testing::FixturePath("deepseek/v3-tiny")));
  EXPECT_FALSE(IsDirectory(testing::FixturePath("deepseek/v3-tiny/config.json")));
  EXPECT_FALSE(IsDirectory(testing::FixturePath("deepseek/no-such-folder")));
}

TEST(SafetensorsFixtures, V2LiteTinyF32AndBf16) {
  FATHOM_REQUIRE_FIXTURE("deepseek/v2-lite-tiny/model.safetensors");
  FATHOM_REQUIRE_FIXTURE("deepseek/v2-lite-tiny/bf16/model.safetensors");
  absl::StatusOr<std::unique_ptr<HfCheckpoint>> f32 =
      HfCheckpoint::Open(testing::FixturePath("deepseek/v2-lite-tiny"));
  ASSERT_TRUE(f32.ok()) << f32.status();
  absl::StatusOr<std::unique_ptr<HfCheckpoint>> bf16 =
      HfCheckpoint::Open(testing::FixturePath("deepseek/v2-lite-tiny/bf16/"));
  ASSERT_TRUE(bf16.ok()) << bf16.status();
  EXPECT_EQ((*f32)->TensorNames(), (*bf16)->TensorNames());
  EXPECT_EQ((*f32)->TensorNames().size(), 95u);
  const SafetensorsTensor* a = (*f32)->Find("model.embed_tokens.weight");
  const SafetensorsTensor* b = (*bf16)->Find("model.embed_tokens.weight");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->type, DType::kF32);
  EXPECT_EQ(b->type, DType::kBF16);
  EXPECT_EQ(b->dtype_name, "BF16");
  EXPECT_EQ(a->shape, (std::vector<int64_t>{1000, 128}));
  EXPECT_EQ(b->shape, a->shape);
  EXPECT_EQ(b->n_bytes, 1000u * 128 * 2);
  // BF16 is the top half of the F32 value (truncated or rounded): compare loosely.
  float af;
  std::memcpy(&af, a->data, 4);
  uint16_t bh;
  std::memcpy(&bh, b->data, 2);
  const uint32_t bu = static_cast<uint32_t>(bh) << 16;
  float bf;
  std::memcpy(&bf, &bu, 4);
  EXPECT_NEAR(af, bf, std::abs(af) / 64 + 1e-30);
  EXPECT_EQ((*bf16)->config().value("vocab_size", 0), 1000);
}

TEST(SafetensorsFixtures, V3TinyFp8) {
  FATHOM_REQUIRE_FIXTURE("deepseek/v3-tiny-fp8/model.safetensors");
  absl::StatusOr<std::unique_ptr<HfCheckpoint>> ckpt =
      HfCheckpoint::Open(testing::FixturePath("deepseek/v3-tiny-fp8"));
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  const HfCheckpoint& c = **ckpt;
  EXPECT_EQ(c.TensorNames().size(), 405u);
  const SafetensorsTensor* q = c.Find("model.layers.0.self_attn.q_b_proj.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, DType::kF8_E4M3);
  EXPECT_EQ(q->dtype_name, "F8_E4M3");
  EXPECT_EQ(q->shape, (std::vector<int64_t>{192, 160}));
  EXPECT_EQ(q->n_bytes, 192u * 160);
  const SafetensorsTensor* s = c.Find("model.layers.0.self_attn.q_b_proj.weight_scale_inv");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->type, DType::kF32);
  EXPECT_EQ(s->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(s->n_bytes, 16u);
  // Scales are positive finite numbers.
  for (int i = 0; i < 4; ++i) {
    float v;
    std::memcpy(&v, s->data + 4 * i, 4);
    EXPECT_GT(v, 0.0f);
    EXPECT_TRUE(std::isfinite(v));
  }
  const SafetensorsTensor* embed = c.Find("model.embed_tokens.weight");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->type, DType::kBF16);
  const SafetensorsTensor* kva = c.Find("model.layers.0.self_attn.kv_a_proj_with_mqa.weight");
  ASSERT_NE(kva, nullptr);
  EXPECT_EQ(kva->type, DType::kF8_E4M3);
  EXPECT_EQ(kva->shape, (std::vector<int64_t>{80, 128}));
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> f =
      SafetensorsFile::Open(testing::FixturePath("deepseek/v3-tiny-fp8/model.safetensors"));
  ASSERT_TRUE(f.ok()) << f.status();
  ExpectContiguous(**f);
}

TEST(SafetensorsFixtures, ExpectedFiles) {
  for (const std::string fixture : {"v3-tiny", "v2-lite-tiny", "v3-tiny-fp8"}) {
    SCOPED_TRACE(fixture);
    const std::string rel = "deepseek/" + fixture + "/expected.safetensors";
    FATHOM_REQUIRE_FIXTURE(rel);
    absl::StatusOr<std::unique_ptr<SafetensorsFile>> f =
        SafetensorsFile::Open(testing::FixturePath(rel));
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ((*f)->metadata().at("fixture"), fixture);
    EXPECT_EQ((*f)->metadata().count("official_commit"), 1u);
    const SafetensorsTensor* tokens = (*f)->Find("gen_tokens");
    ASSERT_NE(tokens, nullptr);
    EXPECT_EQ(tokens->type, DType::kI32);
    EXPECT_EQ(tokens->shape, (std::vector<int64_t>{16}));
    const auto expected = testing::ReadSafetensors(testing::FixturePath(rel));
    EXPECT_EQ(expected.size(), (*f)->tensors().size());
    for (const auto& [name, e] : expected) {
      const SafetensorsTensor* t = (*f)->Find(name);
      ASSERT_NE(t, nullptr) << name;
      EXPECT_EQ(t->dtype_name, e.dtype) << name;
      EXPECT_EQ(t->shape, e.shape) << name;
      if (t->type == DType::kI32) {
        ASSERT_EQ(e.ints.size(), static_cast<size_t>(t->n_elements));
        for (int64_t i = 0; i < t->n_elements; ++i) {
          int32_t v;
          std::memcpy(&v, t->data + 4 * i, 4);
          ASSERT_EQ(v, e.ints[static_cast<size_t>(i)]) << name;
        }
      }
    }
    ExpectContiguous(**f);
  }
}

// ---- valid handcrafted files ------------------------------------------------------------------

TEST(SafetensorsReader, SmallFileRoundTrip) {
  const std::string bytes =
      WriteSafetensors({{"b", "F32", {2, 3}, F32Bytes({1, 2, 3, 4, 5, 6})},
                        {"a", "I64", {1}, std::string("\x07\0\0\0\0\0\0\0", 8)},
                        {"scalar", "F16", {}, std::string("\x00\x3c", 2)},
                        {"empty", "BF16", {0, 5}, ""},
                        {"fp8", "F8_E4M3", {3}, "\x38\x40\x48"},
                        {"i8", "I8", {2}, "\x01\xff"},
                        {"i16", "I16", {1}, std::string("\x02\x00", 2)},
                        {"f64", "F64", {1}, std::string(8, '\0')}},
                       Json{{"k", "v"}});
  Parsed p = ParseBytes(bytes);
  ASSERT_TRUE(p.file.ok()) << p.file.status();
  const SafetensorsFile& f = **p.file;
  EXPECT_EQ(f.tensors().size(), 8u);
  EXPECT_EQ(f.metadata().at("k"), "v");
  const SafetensorsTensor* b = f.Find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->shape, (std::vector<int64_t>{2, 3}));
  float v5;
  std::memcpy(&v5, b->data + 5 * 4, 4);
  EXPECT_EQ(v5, 6.0f);
  const SafetensorsTensor* scalar = f.Find("scalar");
  ASSERT_NE(scalar, nullptr);
  EXPECT_TRUE(scalar->shape.empty());
  EXPECT_EQ(scalar->n_elements, 1);
  EXPECT_EQ(scalar->type, DType::kF16);
  const SafetensorsTensor* empty = f.Find("empty");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->n_elements, 0);
  EXPECT_EQ(empty->n_bytes, 0u);
  EXPECT_EQ(f.Find("fp8")->type, DType::kF8_E4M3);
  EXPECT_EQ(f.Find("i8")->type, DType::kI8);
  EXPECT_EQ(f.Find("i16")->type, DType::kI16);
  EXPECT_EQ(f.Find("f64")->type, DType::kF64);
  EXPECT_EQ(f.Find("a")->type, DType::kI64);
  EXPECT_EQ(f.Find("nope"), nullptr);
  // Sorted by offset: the writer laid them out in the order given.
  EXPECT_EQ(f.tensors()[0].name, "b");
  EXPECT_EQ(f.tensors()[1].name, "a");
}

TEST(SafetensorsReader, HoleAndZeroSizedTensorsAreAccepted) {
  // A gap between tensors and an empty tensor placed inside another's range are harmless.
  const std::string header = R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("y":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},)"
                             R"("z":{"dtype":"F32","shape":[0],"data_offsets":[2,2]}})";
  Parsed p = ParseBytes(RawFile(header, std::string(12, '\0')));
  ASSERT_TRUE(p.file.ok()) << p.file.status();
  EXPECT_EQ((*p.file)->tensors().size(), 3u);
}

TEST(SafetensorsReader, EmptyHeaderObject) {
  Parsed p = ParseBytes(RawFile("{}      ", ""));
  ASSERT_TRUE(p.file.ok()) << p.file.status();
  EXPECT_TRUE((*p.file)->tensors().empty());
}

// ---- hostile files ----------------------------------------------------------------------------

TEST(SafetensorsReader, TruncatedAtEveryByte) {
  const std::string bytes = WriteSafetensors(
      {{"w", "F32", {2, 2}, F32Bytes({1, 2, 3, 4})}, {"v", "I32", {3}, std::string(12, '\x01')}},
      Json{{"format", "pt"}});
  ASSERT_TRUE(ParseBytes(bytes).file.ok());
  for (size_t n = 0; n < bytes.size(); ++n) {
    Parsed p = ParseBytes(bytes.substr(0, n));
    EXPECT_FALSE(p.file.ok()) << "accepted a prefix of " << n << " of " << bytes.size() << " bytes";
  }
  ExpectRejected(bytes.substr(0, 5), {"truncated", "8-byte header length"});
  ExpectRejected(bytes.substr(0, 20), {"truncated", "header length"});
  ExpectRejected(bytes.substr(0, bytes.size() - 1), {"truncated", "'v'", "data section"});
  ExpectRejected("", {"<memory>", "truncated"});
}

TEST(SafetensorsReader, HeaderLength) {
  ExpectRejected(Le64(1000) + "{}", {"header length 1000", "exceeds"});
  ExpectRejected(Le64(std::numeric_limits<uint64_t>::max()) + "{}", {"header length", "limit"});
  ExpectRejected(Le64(100'000'001) + "{}", {"limit of 100000000"});
  ExpectRejected(Le64(0), {"not valid JSON"});
}

TEST(SafetensorsReader, HeaderNotJson) {
  ExpectRejected(RawFile("hello!!!", ""), {"header", "not valid JSON"});
  ExpectRejected(RawFile("{\"a\":", ""), {"not valid JSON"});
  ExpectRejected(RawFile("{} x", ""), {"not valid JSON"});
  ExpectRejected(RawFile(std::string("{}\0\0", 4), ""), {"not valid JSON", "NUL byte"});
  ExpectRejected(RawFile(std::string("{}  \0junk", 9), ""),
                 {"not valid JSON", "NUL byte at byte 4"});
  // Invalid UTF-8 inside a key.
  ExpectRejected(RawFile("{\"\xff\xfe\":{}}", ""), {"not valid JSON"});
  // Nesting bomb: refused before building a DOM.
  ExpectRejected(RawFile(std::string(100000, '[') + std::string(100000, ']'), ""), {"nested"});
  ExpectRejected(
      RawFile("{\"__metadata__\":" + std::string(50, '[') + std::string(50, ']') + "}", ""),
      {"nested"});
}

TEST(SafetensorsReader, HeaderNotObject) {
  ExpectRejected(RawFile("[1,2,3]", ""), {"header is a JSON array", "not a JSON object"});
  ExpectRejected(RawFile("42", ""), {"not a JSON object"});
  ExpectRejected(RawFile("\"str\"", ""), {"not a JSON object"});
  ExpectRejected(RawFile("null", ""), {"not a JSON object"});
}

TEST(SafetensorsReader, Metadata) {
  ExpectRejected(RawFile(R"({"__metadata__":[1]})", ""), {"__metadata__", "not a JSON object"});
  ExpectRejected(RawFile(R"({"__metadata__":{"a":1}})", ""), {"__metadata__", "'a'", "string"});
  ExpectRejected(RawFile(R"({"__metadata__":{"a":"x","a":"y"}})", ""), {"duplicate key", "'a'"});
}

TEST(SafetensorsReader, WrongFieldTypes) {
  const std::string d4(4, '\0');
  ExpectRejected(RawFile(R"({"t":[1]})", d4), {"'t'", "not a JSON object"});
  ExpectRejected(RawFile(OneTensorHeader("t", R"("shape":[1],"data_offsets":[0,4])"), d4),
                 {"'t'", "missing field 'dtype'"});
  ExpectRejected(RawFile(OneTensorHeader("t", R"("dtype":"F32","data_offsets":[0,4])"), d4),
                 {"'t'", "missing field 'shape'"});
  ExpectRejected(RawFile(OneTensorHeader("t", R"("dtype":"F32","shape":[1])"), d4),
                 {"'t'", "missing field 'data_offsets'"});
  ExpectRejected(
      RawFile(OneTensorHeader("t", R"("dtype":32,"shape":[1],"data_offsets":[0,4])"), d4),
      {"'t'", "'dtype'", "not a string"});
  ExpectRejected(
      RawFile(OneTensorHeader("t", R"("dtype":"F32","shape":1,"data_offsets":[0,4])"), d4),
      {"'t'", "'shape'", "not an array"});
  ExpectRejected(
      RawFile(OneTensorHeader("t", R"("dtype":"F32","shape":["1"],"data_offsets":[0,4])"), d4),
      {"'t'", "shape[0]", "string"});
  ExpectRejected(
      RawFile(OneTensorHeader("t", R"("dtype":"F32","shape":[1.5],"data_offsets":[0,4])"), d4),
      {"'t'", "shape[0]", "1.5"});
  ExpectRejected(
      RawFile(OneTensorHeader("t", R"("dtype":"F32","shape":[1],"data_offsets":"0,4")"), d4),
      {"'t'", "'data_offsets'", "not an array"});
  ExpectRejected(
      RawFile(OneTensorHeader("t", R"("dtype":"F32","shape":[1],"data_offsets":[0,4,8])"), d4),
      {"'t'", "'data_offsets'", "3 values"});
  ExpectRejected(
      RawFile(OneTensorHeader("t", R"("dtype":"F32","shape":[1],"data_offsets":[0,null])"), d4),
      {"'t'", "data_offsets"});
  ExpectRejected(
      RawFile(OneTensorHeader("t", R"("dtype":"F32","shape":[1],"data_offsets":[-4,4])"), d4),
      {"'t'", "data_offsets", "-4"});
  ExpectRejected(
      RawFile(
          OneTensorHeader("t", R"("dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4])"),
          d4),
      {"duplicate key", "'dtype'"});
}

TEST(SafetensorsReader, Dtypes) {
  const std::string d4(4, '\0');
  ExpectRejected(
      RawFile(OneTensorHeader("mask", R"("dtype":"BOOL","shape":[4],"data_offsets":[0,4])"), d4),
      {"'mask'", "unsupported dtype 'BOOL'"});
  ExpectRejected(
      RawFile(OneTensorHeader("u", R"("dtype":"U8","shape":[4],"data_offsets":[0,4])"), d4),
      {"'u'", "unsupported dtype 'U8'"});
  ExpectRejected(
      RawFile(OneTensorHeader("q", R"("dtype":"Q4_K","shape":[4],"data_offsets":[0,4])"), d4),
      {"'q'", "unknown dtype 'Q4_K'"});
  ExpectRejected(
      RawFile(OneTensorHeader("q", R"("dtype":"f32","shape":[1],"data_offsets":[0,4])"), d4),
      {"'q'", "unknown dtype 'f32'"});
}

TEST(SafetensorsReader, Shapes) {
  const std::string d4(4, '\0');
  ExpectRejected(
      RawFile(OneTensorHeader("t", R"("dtype":"F32","shape":[-1],"data_offsets":[0,4])"), d4),
      {"'t'", "shape[0] is -1"});
  ExpectRejected(
      RawFile(OneTensorHeader("t", R"("dtype":"F32","shape":[2,-3],"data_offsets":[0,4])"), d4),
      {"'t'", "shape[1] is -3"});
  ExpectRejected(
      RawFile(OneTensorHeader(
                  "t", R"("dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4])"),
              d4),
      {"'t'", "overflows"});
  ExpectRejected(
      RawFile(OneTensorHeader(
                  "t", R"("dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4])"),
              d4),
      {"'t'", "shape[0]"});
  ExpectRejected(
      RawFile(OneTensorHeader("t", R"("dtype":"F32","shape":[1e300],"data_offsets":[0,4])"), d4),
      {"'t'", "shape[0]"});
  // Fits int64 elements, but not bytes: 2^62 F64 elements.
  ExpectRejected(
      RawFile(OneTensorHeader(
                  "t", R"("dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4])"),
              d4),
      {"'t'", "overflow"});
  // A zero dimension next to a huge one is fine only if the span is empty.
  ExpectRejected(
      RawFile(OneTensorHeader(
                  "t", R"("dtype":"F32","shape":[0,9223372036854775807],"data_offsets":[0,4])"),
              d4),
      {"'t'", "needs 0 bytes", "span 4 bytes"});
}

TEST(SafetensorsReader, SpansAndOffsets) {
  const std::string d16(16, '\0');
  ExpectRejected(
      RawFile(OneTensorHeader("t", R"("dtype":"F32","shape":[2],"data_offsets":[0,4])"), d16),
      {"'t'", "shape [2] of F32 needs 8 bytes", "span 4 bytes"});
  ExpectRejected(
      RawFile(OneTensorHeader("t", R"("dtype":"BF16","shape":[2,2],"data_offsets":[0,16])"), d16),
      {"'t'", "needs 8 bytes", "span 16"});
  ExpectRejected(
      RawFile(OneTensorHeader("t", R"("dtype":"F32","shape":[1],"data_offsets":[8,4])"), d16),
      {"'t'", "begin 8 is after end 4"});
  ExpectRejected(
      RawFile(OneTensorHeader("t", R"("dtype":"F32","shape":[1],"data_offsets":[16,20])"), d16),
      {"'t'", "truncated", "data section of 16 bytes"});
  ExpectRejected(
      RawFile(OneTensorHeader("t", R"("dtype":"F32","shape":[1],)"
                                   R"("data_offsets":[18446744073709551612,18446744073709551616])"),
              d16),
      {"'t'", "data_offsets"});
  ExpectRejected(RawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                         d16),
                 {"'b'", "overlap", "'a'"});
  ExpectRejected(RawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                         R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                         d16),
                 {"overlap"});
  ExpectRejected(RawFile(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                         R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                         d16),
                 {"'b'", "overlap", "'a'"});
  ExpectRejected(RawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                         R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                         d16),
                 {"duplicate key", "'a'"});
}

TEST(SafetensorsReader, OpenMissingFile) {
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> f =
      SafetensorsFile::Open("/nonexistent/fathom/model.safetensors");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(f.status().message().find("model.safetensors"), absl::string_view::npos);
}

// Flipping any single byte of the header must give an error or a valid file, never a crash.
TEST(SafetensorsReader, HeaderByteFlips) {
  const std::string bytes = WriteSafetensors(
      {{"w", "F32", {2, 2}, F32Bytes({1, 2, 3, 4})}, {"v", "I32", {3}, std::string(12, '\x01')}});
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(bytes[i]);
  for (size_t i = 0; i < 8 + header_len; ++i) {
    for (uint8_t x : {0x01, 0x80, 0xff}) {
      std::string m = bytes;
      m[i] = static_cast<char>(static_cast<uint8_t>(m[i]) ^ x);
      Parsed p = ParseBytes(m);
      if (p.file.ok()) {
        for (const SafetensorsTensor& t : (*p.file)->tensors()) {
          ASSERT_GE(t.data, p.buffer->data());
          ASSERT_LE(t.data + t.n_bytes, p.buffer->data() + p.buffer->size());
        }
      }
    }
  }
}

// ---- checkpoint folders -----------------------------------------------------------------------

using HfCheckpointTest = TempDirTest;

TEST_F(HfCheckpointTest, ShardedFolder) {
  WriteConfig();
  Write("model-00001-of-00002.safetensors",
        WriteSafetensors({{"a", "F32", {2}, F32Bytes({1, 2})}, {"b", "F32", {1}, F32Bytes({3})}}));
  Write("model-00002-of-00002.safetensors",
        WriteSafetensors({{"c", "F32", {3}, F32Bytes({4, 5, 6})},
                          {"d.extra", "I32", {1}, std::string("\x09\0\0\0", 4)}}));
  Write("model.safetensors.index.json",
        R"({"metadata":{"total_size":28},"weight_map":{
          "a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors",
          "c":"model-00002-of-00002.safetensors"}})");
  absl::StatusOr<std::unique_ptr<HfCheckpoint>> ckpt = HfCheckpoint::Open(dir_);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  const HfCheckpoint& c = **ckpt;
  EXPECT_EQ(c.folder(), dir_);
  EXPECT_EQ(c.config().value("model_type", ""), "deepseek_v3");
  EXPECT_EQ(c.TensorNames(), (std::vector<std::string>{"a", "b", "c", "d.extra"}));
  const SafetensorsTensor* cc = c.Find("c");
  ASSERT_NE(cc, nullptr);
  float v;
  std::memcpy(&v, cc->data + 8, 4);
  EXPECT_EQ(v, 6.0f);
  const SafetensorsTensor* b = c.Find("b");
  ASSERT_NE(b, nullptr);
  std::memcpy(&v, b->data, 4);
  EXPECT_EQ(v, 3.0f);
  // Not in the index but in a shard: still reachable.
  ASSERT_NE(c.Find("d.extra"), nullptr);
  EXPECT_EQ(c.Find("d.extra")->type, DType::kI32);
  EXPECT_FALSE(c.Has("e"));
  EXPECT_FALSE(c.HasTokenizerFiles());
  Write("tokenizer.json", "{}");
  EXPECT_TRUE(c.HasTokenizerFiles());
}

TEST_F(HfCheckpointTest, TokenizerModelAlsoCounts) {
  WriteConfig();
  Write("model.safetensors", WriteSafetensors({{"a", "F32", {1}, F32Bytes({1})}}));
  Write("tokenizer.model", "x");
  absl::StatusOr<std::unique_ptr<HfCheckpoint>> ckpt = HfCheckpoint::Open(dir_ + "/");
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  EXPECT_TRUE((*ckpt)->HasTokenizerFiles());
  EXPECT_TRUE((*ckpt)->Has("a"));
}

TEST_F(HfCheckpointTest, FolderMissingOrFile) {
  absl::StatusOr<std::unique_ptr<HfCheckpoint>> c = HfCheckpoint::Open(dir_ + "/nope");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(c.status().message().find("does not exist"), absl::string_view::npos);
  Write("file", "x");
  c = HfCheckpoint::Open(Path("file"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("not a directory"), absl::string_view::npos);
  EXPECT_FALSE(IsDirectory(Path("file")));
  EXPECT_TRUE(IsDirectory(dir_));
}

TEST_F(HfCheckpointTest, ConfigMissing) {
  Write("model.safetensors", WriteSafetensors({{"a", "F32", {1}, F32Bytes({1})}}));
  ExpectOpenFails(absl::StatusCode::kNotFound, {"config.json"});
}

TEST_F(HfCheckpointTest, ConfigNotObject) {
  Write("model.safetensors", WriteSafetensors({{"a", "F32", {1}, F32Bytes({1})}}));
  Write("config.json", "[1, 2]");
  ExpectOpenFails(absl::StatusCode::kInvalidArgument, {"config.json", "not a JSON object"});
  Write("config.json", "{\"a\": ");
  ExpectOpenFails(absl::StatusCode::kInvalidArgument, {"config.json", "not valid JSON"});
  Write("config.json", "");
  ExpectOpenFails(absl::StatusCode::kInvalidArgument, {"config.json", "not valid JSON"});
  Write("config.json", std::string(200000, '[') + std::string(200000, ']'));
  ExpectOpenFails(absl::StatusCode::kInvalidArgument, {"config.json", "nested"});
}

TEST_F(HfCheckpointTest, NoWeights) {
  WriteConfig();
  Write("pytorch_model.bin", "x");
  Write("weights.safetensors", WriteSafetensors({{"a", "F32", {1}, F32Bytes({1})}}));
  ExpectOpenFails(absl::StatusCode::kNotFound,
                  {"model.safetensors", "model.safetensors.index.json"});
}

TEST_F(HfCheckpointTest, BadSingleFile) {
  WriteConfig();
  Write("model.safetensors", Le64(64) + "{}");
  ExpectOpenFails(absl::StatusCode::kDataLoss, {"model.safetensors", "truncated"});
}

TEST_F(HfCheckpointTest, IndexMissingShard) {
  WriteConfig();
  Write("s1.safetensors", WriteSafetensors({{"a", "F32", {1}, F32Bytes({1})}}));
  Write("model.safetensors.index.json",
        R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
  ExpectOpenFails(absl::StatusCode::kNotFound, {"'s2.safetensors'", "'b'"});
}

TEST_F(HfCheckpointTest, IndexHostileShardNames) {
  WriteConfig();
  std::filesystem::create_directory(Path("sub"));
  Write("sub/x.safetensors", WriteSafetensors({{"a", "F32", {1}, F32Bytes({1})}}));
  for (const std::string name :
       {"../x.safetensors", "sub/x.safetensors", "/etc/passwd", "..", ".", "", "a\\\\b"}) {
    SCOPED_TRACE(name);
    Write("model.safetensors.index.json", R"({"weight_map":{"a":")" + name + R"("}})");
    ExpectOpenFails(absl::StatusCode::kInvalidArgument, {"'a'", "not a plain file name"});
  }
}

TEST_F(HfCheckpointTest, IndexTensorNotInShard) {
  WriteConfig();
  Write("s1.safetensors", WriteSafetensors({{"a", "F32", {1}, F32Bytes({1})}}));
  Write("s2.safetensors", WriteSafetensors({{"b", "F32", {1}, F32Bytes({2})}}));
  Write("model.safetensors.index.json",
        R"({"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}})");
  ExpectOpenFails(absl::StatusCode::kInvalidArgument,
                  {"'b'", "'s1.safetensors'", "does not contain it"});
}

TEST_F(HfCheckpointTest, DuplicateTensorAcrossShards) {
  WriteConfig();
  Write("s1.safetensors",
        WriteSafetensors({{"a", "F32", {1}, F32Bytes({1})}, {"x", "F32", {1}, F32Bytes({1})}}));
  Write("s2.safetensors",
        WriteSafetensors({{"b", "F32", {1}, F32Bytes({2})}, {"x", "F32", {1}, F32Bytes({3})}}));
  Write("model.safetensors.index.json",
        R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
  ExpectOpenFails(absl::StatusCode::kInvalidArgument,
                  {"'x'", "'s1.safetensors'", "'s2.safetensors'", "both"});
}

TEST_F(HfCheckpointTest, BadIndexJson) {
  WriteConfig();
  Write("s1.safetensors", WriteSafetensors({{"a", "F32", {1}, F32Bytes({1})}}));
  struct Case {
    std::string text;
    std::vector<std::string> needles;
  };
  const std::vector<Case> cases = {
      {"[]", {"model.safetensors.index.json", "not a JSON object"}},
      {"{", {"model.safetensors.index.json", "not valid JSON"}},
      {R"({"metadata":{}})", {"missing 'weight_map'"}},
      {R"({"weight_map":["a"]})", {"'weight_map'", "not an object"}},
      {R"({"weight_map":{}})", {"no tensors"}},
      {R"({"weight_map":{"a":1}})", {"'a'", "not a shard file name"}},
      {R"({"weight_map":{"a":"s1.safetensors","a":"s2.safetensors"}})", {"duplicate key", "'a'"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    Write("model.safetensors.index.json", c.text);
    ExpectOpenFails(absl::StatusCode::kInvalidArgument, c.needles);
  }
}

TEST_F(HfCheckpointTest, CorruptShardNamesIndexEntry) {
  WriteConfig();
  Write("s1.safetensors", RawFile("not json", ""));
  Write("model.safetensors.index.json", R"({"weight_map":{"a":"s1.safetensors"}})");
  ExpectOpenFails(absl::StatusCode::kInvalidArgument,
                  {"'s1.safetensors'", "'a'", "not valid JSON"});
}

}  // namespace
}  // namespace fathom
