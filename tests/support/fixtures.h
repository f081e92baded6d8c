// Test helpers: locating ../shared/fixtures and reading expected-value safetensors files.
#ifndef FATHOM_TESTS_SUPPORT_FIXTURES_H_
#define FATHOM_TESTS_SUPPORT_FIXTURES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fathom::testing {

// $FATHOM_FIXTURES, else the build's default (../shared/fixtures next to the source tree).
std::string FixturesDir();
// FixturesDir() + "/" + relative. When the file is missing: fails the current test if
// CI=true, otherwise skips it (call through FATHOM_REQUIRE_FIXTURE).
bool FixtureExists(const std::string& relative);
std::string FixturePath(const std::string& relative);
bool RunningInCi();

// A tensor read from a safetensors file, converted to float (F32/I32/I64/F16/BF16) or kept raw.
struct ExpectedTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<float> f32;    // for float dtypes
  std::vector<int64_t> ints;  // for integer dtypes
};
// Reads every tensor of a (trusted, test-fixture) safetensors file. Fails the test on errors.
std::map<std::string, ExpectedTensor> ReadSafetensors(const std::string& path);

// Reads a whole file into a string (empty on failure).
std::string ReadFile(const std::string& path);

}  // namespace fathom::testing

// Skips (locally) or fails (CI=true) when a fixture is missing.
#define FATHOM_REQUIRE_FIXTURE(rel)                                                 \
  do {                                                                              \
    if (!::fathom::testing::FixtureExists(rel)) {                                   \
      if (::fathom::testing::RunningInCi()) FAIL() << "missing fixture: " << (rel); \
      GTEST_SKIP() << "missing fixture: " << (rel);                                 \
    }                                                                               \
  } while (0)

#endif  // FATHOM_TESTS_SUPPORT_FIXTURES_H_
