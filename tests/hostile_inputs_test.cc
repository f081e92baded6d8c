// Hostile inputs: every file of the regression corpus (tests/fuzz/make_corpus.py: one or more
// crafted files per known attack class on model/tokenizer parsers, e.g. the GGUF CVE classes of
// llama.cpp and Ollama) and every input the fuzzers ever found (tests/fuzz/regression) must be
// rejected by the public loaders with a clean error that says what is wrong. Session state files
// are crafted here from a real saved state (they need the model's fingerprint).
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "fathom/model.h"
#include "fathom/session.h"
#include "fathom/tokenizer.h"
#include "format/safetensors_reader.h"
#include "gtest/gtest.h"
#include "runtime/session_state.h"
#include "support/fixtures.h"

namespace fathom {
namespace {

struct Case {
  std::string dir;
  std::string file;
  std::string loader;
  std::string expect;
};

std::vector<Case> ReadManifest(const std::string& dir) {
  std::vector<Case> cases;
  std::ifstream in(dir + "/MANIFEST.tsv");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string col;
    while (std::getline(ss, col, '\t')) cols.push_back(col);
    if (cols.size() != 3) {
      ADD_FAILURE() << "bad manifest line in " << dir << ": " << line;
      continue;
    }
    cases.push_back({dir, cols[0], cols[1], cols[2]});
  }
  return cases;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Runs the case's loader; returns its error (an OK status when the input was accepted) and, for
// chat templates, the rendered text in `output`.
Status Load(const Case& c, std::string* output = nullptr) {
  const std::string path = c.dir + "/" + c.file;
  if (c.loader == "gguf_model" || c.loader == "hf_model") {
    auto m = Model::Load(path);
    return m.ok() ? Status() : m.status();
  }
  if (c.loader == "gguf_tokenizer" || c.loader == "tokenizer") {
    // A vocabulary may load for decoding only; then encoding must give the error.
    auto t = Tokenizer::Load(path);
    if (!t.ok()) return t.status();
    auto ids = (*t)->Encode("hello world");
    return ids.ok() ? Status() : ids.status();
  }
  if (c.loader == "safetensors") {
    auto st = SafetensorsFile::Open(path);
    return st.ok() ? Status()
                   : Status(StatusCode::kInvalidArgument, std::string(st.status().message()));
  }
  if (c.loader == "chat_template") {
    const std::string tmpl = testing::ReadFile(path);
    auto r = Tokenizer::RenderChatTemplate(tmpl, {{"user", "hi"}, {"assistant", "hello"}}, {});
    if (r.ok() && output != nullptr) *output = *r;
    return r.ok() ? Status() : r.status();
  }
  return Status(StatusCode::kUnimplemented, "unknown loader " + c.loader);
}

void CheckCorpus(const std::string& dir, size_t min_cases) {
  std::vector<Case> cases = ReadManifest(dir);
  ASSERT_GE(cases.size(), min_cases) << "regression corpus missing or incomplete in " << dir;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file + " (" + c.loader + ")");
    std::string output;
    Status s = Load(c, &output);
    if (!c.expect.empty() && c.expect[0] == '=') {  // must load, with exactly this result
      ASSERT_TRUE(s.ok()) << s.message();
      EXPECT_EQ(output, c.expect.substr(1));
      continue;
    }
    ASSERT_FALSE(s.ok()) << "hostile input was accepted";
    EXPECT_NE(s.code(), StatusCode::kInternal) << s.message();
    EXPECT_NE(Lower(s.message()).find(Lower(c.expect)), std::string::npos)
        << "error does not say what is wrong (expected it to mention '" << c.expect
        << "'): " << s.message();
  }
}

TEST(HostileInputsTest, GeneratedCorpusIsRejectedWithClearErrors) {
  FATHOM_REQUIRE_FIXTURE("stories260K/stories260K.gguf");
  CheckCorpus(FATHOM_HOSTILE_CORPUS, 60);
}

TEST(HostileInputsTest, FuzzerFindingsAreRejectedWithClearErrors) {
  std::ifstream probe(std::string(FATHOM_FUZZ_REGRESSION) + "/MANIFEST.tsv");
  ASSERT_TRUE(probe) << "tests/fuzz/regression/MANIFEST.tsv is part of the repository";
  CheckCorpus(FATHOM_FUZZ_REGRESSION, 1);
}

// ---- session state files ----------------------------------------------------------------------

class HostileSessionStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FATHOM_REQUIRE_FIXTURE("stories260K/stories260K.gguf");
    auto model = Model::Load(testing::FixturePath("stories260K/stories260K.gguf"));
    ASSERT_TRUE(model.ok()) << model.status().message();
    model_ = *model;
    SessionOptions o;
    o.n_ctx = 32;
    o.n_threads = 1;
    auto s = Session::Create(model_, o);
    ASSERT_TRUE(s.ok()) << s.status().message();
    session_ = std::move(*s);
    ASSERT_TRUE(session_->Evaluate({1, 400, 401, 402}).ok());
    auto image = session_->SaveState();
    ASSERT_TRUE(image.ok()) << image.status().message();
    image_ = *image;
    uint32_t header_size;
    std::memcpy(&header_size, image_.data() + 8, 4);
    ASSERT_TRUE(header_.ParseFromArray(image_.data() + internal::kSessionStatePrefixBytes,
                                       static_cast<int>(header_size)));
    area_ = image_.substr(internal::kSessionStatePrefixBytes + header_size);
  }

  // The image with `h` as its header (correct CRCs: the checks behind them are reached).
  std::string Rebuild(const internal::state::SessionStateHeader& h) const {
    std::string header;
    EXPECT_TRUE(h.SerializeToString(&header));
    std::string out(image_.data(), 8);
    const uint32_t size = static_cast<uint32_t>(header.size());
    const uint32_t crc = internal::Crc32c(header.data(), header.size());
    out.append(reinterpret_cast<const char*>(&size), 4);
    out.append(reinterpret_cast<const char*>(&crc), 4);
    return out + header + area_;
  }

  void ExpectRejected(const std::string& image, const std::string& expect) {
    Status s = session_->LoadState(image);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.code(), StatusCode::kInternal);
    EXPECT_NE(Lower(s.message()).find(Lower(expect)), std::string::npos) << s.message();
    EXPECT_EQ(session_->position(), 4) << "a rejected state must leave the session as it was";
  }

  std::shared_ptr<const Model> model_;
  std::unique_ptr<Session> session_;
  std::string image_;
  std::string area_;
  internal::state::SessionStateHeader header_;
};

TEST_F(HostileSessionStateTest, SizesAndCountsThatLie) {
  ASSERT_TRUE(session_->LoadState(image_).ok());  // the untouched image loads

  std::string bad = image_;
  const uint32_t huge = 0xFFFFFFF0u;
  std::memcpy(bad.data() + 8, &huge, 4);
  ExpectRejected(bad, "header of");
  ExpectRejected(image_.substr(0, image_.size() - 9), "truncated");
  ExpectRejected(image_.substr(0, 10), "too short");
  bad = image_;
  bad[0] = 'X';
  ExpectRejected(bad, "magic");
  bad = image_;
  bad[internal::kSessionStatePrefixBytes + 3] ^= 0x55;
  ExpectRejected(bad, "checksum");

  internal::state::SessionStateHeader h = header_;
  h.set_format_version(99);
  ExpectRejected(Rebuild(h), "version 99");

  h = header_;
  h.set_n_tokens(int64_t{1} << 40);
  ExpectRejected(Rebuild(h), "tokens");
  h.set_n_tokens(-3);
  ExpectRejected(Rebuild(h), "negative");

  ASSERT_GT(h.blobs_size(), 0);
  h = header_;
  h.mutable_blobs(0)->set_offset(~uint64_t{0} - 7);  // offset + size wraps around
  ExpectRejected(Rebuild(h), "beyond the end");
  h = header_;
  h.mutable_blobs(0)->set_size(uint64_t{1} << 62);
  ExpectRejected(Rebuild(h), "beyond the end");
  h = header_;
  h.mutable_blobs(0)->clear_shape();
  h.mutable_blobs(0)->add_shape(int64_t{1} << 32);
  h.mutable_blobs(0)->add_shape(int64_t{1} << 32);  // product overflows to 0
  h.mutable_blobs(0)->add_shape(0);
  ExpectRejected(Rebuild(h), "shape");
  h = header_;
  h.mutable_blobs(0)->add_shape(-1);
  ExpectRejected(Rebuild(h), "shape");
  h = header_;
  h.mutable_blobs(0)->set_dtype("f128");
  ExpectRejected(Rebuild(h), "dtype");
  h = header_;
  h.mutable_dims(0)->set_value(h.dims(0).value() * 1000);
  ExpectRejected(Rebuild(h), "different model");
}

}  // namespace
}  // namespace fathom
