// Session state files: save -> restore -> continue gives the tokens of an uninterrupted run
// (stories260K and the DeepSeek fixtures, memory buffer and file), corrupted, truncated,
// foreign and future-version images are rejected with clear errors, and an MLA model's state is
// a small fraction of an uncompressed K/V cache.
#include "runtime/session_state.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "fathom/fathom.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/fixtures.h"

namespace fathom {
namespace {

using testing::FixturePath;

constexpr char kStories[] = "stories260K/stories260K.gguf";

std::shared_ptr<const Model> Load(const std::string& rel) {
  auto m = Model::Load(FixturePath(rel));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : nullptr;
}

GenerateOptions Sampled(int32_t n, uint64_t seed, float temp = 0.8f) {
  GenerateOptions g;
  g.max_tokens = n;
  g.stop_at_eos = false;
  g.sampler.temperature = temp;
  g.sampler.seed = seed;
  g.sampler.repeat_penalty = 1.1f;  // the penalty window must carry over too
  return g;
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/fathom_state_" + name;
}

// One run of 2n tokens vs. n tokens, save, restore into a fresh session, n more tokens.
void ExpectContinuationMatches(const std::shared_ptr<const Model>& model,
                               const std::vector<int32_t>& prompt, int32_t n, float temp,
                               bool via_file) {
  auto whole = Session::Create(model, {.n_ctx = 128, .n_threads = 1});
  ASSERT_TRUE(whole.ok());
  auto all = (*whole)->Generate(prompt, Sampled(2 * n, 7, temp));
  ASSERT_TRUE(all.ok()) << all.status().ToString();

  auto first = Session::Create(model, {.n_ctx = 128, .n_threads = 2});
  GenerateOptions g = Sampled(n, 7, temp);
  g.evaluate_last = true;
  auto a = (*first)->Generate(prompt, g);
  ASSERT_TRUE(a.ok());
  auto second = Session::Create(model, {.n_ctx = 128, .n_threads = 1});
  if (via_file) {
    const std::string path = TempPath("continue");
    ASSERT_TRUE((*first)->SaveStateToFile(path).ok());
    Status st = (*second)->LoadStateFromFile(path);
    ASSERT_TRUE(st.ok()) << st.ToString();
    std::remove(path.c_str());
  } else {
    auto image = (*first)->SaveState();
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    Status st = (*second)->LoadState(*image);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  first->reset();  // nothing of the first session is needed any more
  EXPECT_EQ((*second)->position(), static_cast<int32_t>(prompt.size()) + n);
  auto b = (*second)->Generate({}, Sampled(n, 7, temp));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  std::vector<int32_t> joined = a->tokens;
  joined.insert(joined.end(), b->tokens.begin(), b->tokens.end());
  EXPECT_EQ(joined, all->tokens);
}

TEST(SessionState, StoriesContinuesExactly) {
  FATHOM_REQUIRE_FIXTURE(kStories);
  auto model = Load(kStories);
  ASSERT_TRUE(model);
  ExpectContinuationMatches(model, {1, 403, 407, 261, 378}, 16, 0.8f, false);
  ExpectContinuationMatches(model, {1, 403, 407, 261, 378}, 16, 0.8f, true);
  ExpectContinuationMatches(model, {1, 291}, 10, 0.0f, false);
}

struct DeepSeekCase {
  const char* model;
  const char* config;
};

TEST(SessionState, DeepSeekContinuesExactlyAndIsSmall) {
  const DeepSeekCase cases[] = {
      {"deepseek/v3-tiny/model.gguf", "deepseek/v3-tiny/config.json"},
      {"deepseek/v3-tiny", "deepseek/v3-tiny/config.json"},
      {"deepseek/v2-lite-tiny/model.gguf", "deepseek/v2-lite-tiny/config.json"}};
  for (const DeepSeekCase& c : cases) {
    SCOPED_TRACE(c.model);
    FATHOM_REQUIRE_FIXTURE(c.config);
    auto model = Load(c.model);
    ASSERT_TRUE(model);
    const std::vector<int32_t> prompt = {0, 17, 300, 52, 901, 4, 77, 12};
    ExpectContinuationMatches(model, prompt, 8, 0.0f, false);
    ExpectContinuationMatches(model, prompt, 8, 1.0f, true);

    // Size: the latent cache vs. the per-head K/V a standard attention cache would hold.
    const auto cfg = nlohmann::json::parse(testing::ReadFile(FixturePath(c.config)));
    const int64_t layers = cfg.at("num_hidden_layers").get<int64_t>();
    const int64_t heads = cfg.at("num_attention_heads").get<int64_t>();
    const int64_t qk =
        cfg.at("qk_nope_head_dim").get<int64_t>() + cfg.at("qk_rope_head_dim").get<int64_t>();
    const int64_t uncompressed_per_token =
        layers * heads * (qk + cfg.at("v_head_dim").get<int64_t>()) * 4;
    auto s = Session::Create(model, {.n_ctx = 512, .n_threads = 2});
    std::vector<int32_t> tokens(400);
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 37) % 1000);
    ASSERT_TRUE((*s)->Evaluate(tokens).ok());
    auto image = (*s)->SaveState();
    ASSERT_TRUE(image.ok());
    const double ratio =
        static_cast<double>(image->size()) / static_cast<double>(uncompressed_per_token * 400);
    std::printf(
        "[ state ] %s: %zu bytes for 400 tokens (uncompressed K/V cache: %lld bytes, "
        "ratio 1/%.1f)\n",
        c.model, image->size(), static_cast<long long>(uncompressed_per_token * 400), 1.0 / ratio);
    ::testing::Test::RecordProperty(std::string("state_bytes_") + c.model,
                                    static_cast<int>(image->size()));
    EXPECT_LT(ratio, 0.5);
  }
}

TEST(SessionState, StoriesStateBytes) {
  FATHOM_REQUIRE_FIXTURE(kStories);
  auto model = Load(kStories);
  auto s = Session::Create(model, {.n_ctx = 512});
  std::vector<int32_t> tokens(400);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>(1 + (i * 37) % 500);
  ASSERT_TRUE((*s)->Evaluate(tokens).ok());
  auto image = (*s)->SaveState();
  ASSERT_TRUE(image.ok());
  const int64_t kv = model->info().kv_bytes_per_token * 400;
  std::printf("[ state ] stories260K: %zu bytes for 400 tokens (K/V rows: %lld bytes)\n",
              image->size(), static_cast<long long>(kv));
  EXPECT_GE(static_cast<int64_t>(image->size()), kv);
  EXPECT_LT(static_cast<int64_t>(image->size()), kv + 64 * 1024);
}

class SessionStateErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    FATHOM_REQUIRE_FIXTURE(kStories);
    model_ = Load(kStories);
    ASSERT_TRUE(model_);
    auto s = Session::Create(model_, {.n_ctx = 64});
    ASSERT_TRUE((*s)->Evaluate({1, 403, 407, 261, 378}).ok());
    auto image = (*s)->SaveState();
    ASSERT_TRUE(image.ok());
    image_ = *image;
  }
  Status Restore(const std::string& image, int32_t n_ctx = 64) {
    auto s = Session::Create(model_, {.n_ctx = n_ctx});
    Status st = (*s)->LoadState(image);
    if (!st.ok()) {
      EXPECT_EQ((*s)->position(), 0) << "a failed restore must leave the session";
    }
    return st;
  }
  std::shared_ptr<const Model> model_;
  std::string image_;
};

TEST_F(SessionStateErrors, IntactImageRestores) { EXPECT_TRUE(Restore(image_).ok()); }

TEST_F(SessionStateErrors, TruncatedImagesAreDataLoss) {
  for (size_t n :
       {size_t{0}, size_t{7}, size_t{16}, size_t{40}, image_.size() / 2, image_.size() - 1}) {
    SCOPED_TRACE(n);
    EXPECT_EQ(Restore(image_.substr(0, n)).code(), StatusCode::kDataLoss);
  }
}

TEST_F(SessionStateErrors, CorruptedBytesAreDataLoss) {
  // Every 97th byte (magic, header size, header, blobs) flipped in turn.
  for (size_t i = 0; i < image_.size(); i += 97) {
    std::string bad = image_;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    const Status st = Restore(bad);
    EXPECT_FALSE(st.ok()) << "byte " << i;
    EXPECT_EQ(st.code(), StatusCode::kDataLoss) << "byte " << i << ": " << st.ToString();
  }
  EXPECT_EQ(Restore(std::string(1000, 'x')).code(), StatusCode::kDataLoss);
}

TEST_F(SessionStateErrors, ForeignModelIsRejected) {
  FATHOM_REQUIRE_FIXTURE("deepseek/v3-tiny/model.gguf");
  auto other = Load("deepseek/v3-tiny/model.gguf");
  auto s = Session::Create(other, {.n_ctx = 64});
  const Status st = (*s)->LoadState(image_);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("different model"), std::string::npos) << st.message();
}

// Rewrites the header (keeping the checksum valid) to fake another model or a newer format.
std::string EditHeader(const std::string& image,
                       void (*edit)(internal::state::SessionStateHeader*)) {
  auto parsed = internal::ParseSessionState(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(image.data()), image.size()));
  EXPECT_TRUE(parsed.ok());
  internal::state::SessionStateHeader h = parsed->header;
  edit(&h);
  std::string bytes;
  h.SerializeToString(&bytes);
  const uint32_t old_size = static_cast<uint8_t>(image[8]) | static_cast<uint8_t>(image[9]) << 8 |
                            static_cast<uint8_t>(image[10]) << 16 |
                            static_cast<uint32_t>(static_cast<uint8_t>(image[11])) << 24;
  std::string out = image.substr(0, 8);
  const uint32_t size = static_cast<uint32_t>(bytes.size());
  const uint32_t crc = internal::Crc32c(bytes.data(), bytes.size());
  for (uint32_t v : {size, crc}) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  }
  return out + bytes + image.substr(16 + old_size);
}

TEST_F(SessionStateErrors, OtherFingerprintOrVersionIsRejected) {
  EXPECT_EQ(Restore(EditHeader(image_,
                               [](internal::state::SessionStateHeader* h) {
                                 h->set_model_fingerprint(h->model_fingerprint() ^ 1);
                               }))
                .code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Restore(EditHeader(image_,
                               [](internal::state::SessionStateHeader* h) {
                                 h->mutable_dims(0)->set_value(h->dims(0).value() + 1);
                               }))
                .code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      Restore(EditHeader(image_,
                         [](internal::state::SessionStateHeader* h) { h->set_format_version(2); }))
          .code(),
      StatusCode::kUnimplemented);
  // Sizes that disagree with the blobs: more tokens than the blobs hold.
  EXPECT_EQ(Restore(EditHeader(image_,
                               [](internal::state::SessionStateHeader* h) { h->set_n_tokens(6); }))
                .code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(Restore(EditHeader(image_,
                               [](internal::state::SessionStateHeader* h) {
                                 h->mutable_blobs(0)->set_size(uint64_t{1} << 62);
                               }))
                .code(),
            StatusCode::kDataLoss);
  // Unchanged header through the same path restores.
  EXPECT_TRUE(Restore(EditHeader(image_, [](internal::state::SessionStateHeader*) {})).ok());
}

TEST_F(SessionStateErrors, TooSmallContextIsContextFull) {
  EXPECT_EQ(Restore(image_, 4).code(), StatusCode::kContextFull);
}

TEST_F(SessionStateErrors, MissingFileIsAnError) {
  auto s = Session::Create(model_, {.n_ctx = 64});
  EXPECT_FALSE((*s)->LoadStateFromFile(TempPath("does-not-exist")).ok());
  EXPECT_FALSE((*s)->SaveStateToFile("/nonexistent-dir/x/state").ok());
}

}  // namespace
}  // namespace fathom
