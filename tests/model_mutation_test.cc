// Hostile model files end to end: thousands of mutated stories260K.gguf variants go through the
// GGUF parser, the model loader and the tokenizer, and each that loads runs a short forward
// pass. Every variant must load and run or fail with a message; none may crash (CI runs this
// under AddressSanitizer + UndefinedBehaviorSanitizer).
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "api/model_impl.h"
#include "fathom/fathom.h"
#include "format/gguf_reader.h"
#include "format/mapped_file.h"
#include "gtest/gtest.h"
#include "support/fixtures.h"

namespace fathom {
namespace {

// Loads a buffer as a model; returns true if it loaded (and then ran a few tokens).
bool LoadAndRun(const std::string& bytes, std::string* error) {
  auto gguf = GgufFile::Parse(MappedFile::FromBuffer(bytes.data(), bytes.size()));
  if (!gguf.ok()) {
    *error = std::string(gguf.status().message());
    return false;
  }
  auto model = internal::LoadModelFromGguf(*std::move(gguf), {});
  if (!model.ok()) {
    *error = model.status().message();
    return false;
  }
  auto session = Session::Create(model.value(), {.n_ctx = 8, .n_threads = 1});
  if (!session.ok()) {
    *error = session.status().message();
    return false;
  }
  const int32_t v = (*model)->info().n_vocab;
  Status st = (*session)->Evaluate({0, 1 % v, 2 % v}, true);
  if (!st.ok()) {
    *error = st.message();
    return false;
  }
  auto text = (*model)->tokenizer().Encode("Once upon a time");
  if (text.ok()) (void)(*model)->tokenizer().Decode(*text);
  return true;
}

TEST(ModelMutationTest, EveryVariantLoadsOrFailsCleanly) {
  FATHOM_REQUIRE_FIXTURE("stories260K/stories260K.gguf");
  const std::string original =
      testing::ReadFile(testing::FixturePath("stories260K/stories260K.gguf"));
  ASSERT_FALSE(original.empty());
  std::string error;
  ASSERT_TRUE(LoadAndRun(original, &error)) << error;

  auto parsed = GgufFile::Parse(MappedFile::FromBuffer(original.data(), original.size()));
  ASSERT_TRUE(parsed.ok());
  const uint64_t header_end = (*parsed)->data_offset();  // metadata + tensor infos end here

  std::mt19937_64 rng(20261122);
  int loaded = 0, rejected = 0;
  auto check = [&](const std::string& variant) {
    std::string err;
    if (LoadAndRun(variant, &err)) {
      ++loaded;
    } else {
      ++rejected;
      EXPECT_FALSE(err.empty());
    }
  };
  // Truncations: dense through the header, sparse through the data.
  for (uint64_t cut = 0; cut < header_end; cut += 1 + cut / 64) check(original.substr(0, cut));
  for (int i = 0; i < 50; ++i)
    check(original.substr(0, header_end + rng() % (original.size() - header_end)));
  // Bit flips and byte overwrites in the header region.
  for (int i = 0; i < 1500; ++i) {
    std::string v = original;
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int j = 0; j < n; ++j) {
      const uint64_t at = rng() % header_end;
      if (rng() % 2) {
        v[at] = static_cast<char>(v[at] ^ (1u << (rng() % 8)));
      } else {
        v[at] = static_cast<char>(rng());
      }
    }
    check(v);
  }
  // Overwrites of aligned 8-byte words (counts, lengths, dims, offsets) with hostile values.
  const uint64_t hostile[] = {
      0, 1, 5, 0xFFFFFFFFull, 0x7FFFFFFFFFFFFFFFull, ~0ull, 0x8000000000000000ull, 1ull << 40, 3};
  for (int i = 0; i < 1500; ++i) {
    std::string v = original;
    const uint64_t at = rng() % (header_end - 8);
    const uint64_t value = hostile[rng() % (sizeof(hostile) / sizeof(hostile[0]))];
    std::memcpy(&v[at], &value, 8);
    check(v);
  }
  // Garbage in the tensor data: must still run (NaNs are not a crash).
  for (int i = 0; i < 20; ++i) {
    std::string v = original;
    for (int j = 0; j < 200; ++j)
      v[header_end + rng() % (original.size() - header_end)] = static_cast<char>(rng());
    check(v);
  }
  EXPECT_GT(loaded, 0);
  EXPECT_GT(rejected, 1000);
  std::printf("variants: %d loaded and ran, %d rejected\n", loaded, rejected);
}

}  // namespace
}  // namespace fathom
