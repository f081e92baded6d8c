// Test helpers: fixture paths and a small safetensors reader for expected values.
#include "support/fixtures.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tensor/quant.h"

namespace fathom::testing {

std::string FixturesDir() {
  const char* env = std::getenv("FATHOM_FIXTURES");
  if (env != nullptr && env[0] != '\0') return env;
  return FATHOM_FIXTURES_DEFAULT;
}

std::string FixturePath(const std::string& relative) { return FixturesDir() + "/" + relative; }

bool FixtureExists(const std::string& relative) {
  std::ifstream f(FixturePath(relative), std::ios::binary);
  return f.good();
}

bool RunningInCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return {};
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::map<std::string, ExpectedTensor> ReadSafetensors(const std::string& path) {
  std::map<std::string, ExpectedTensor> out;
  const std::string bytes = ReadFile(path);
  if (bytes.size() < 8) {
    ADD_FAILURE() << "cannot read safetensors file " << path;
    return out;
  }
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  if (header_len > bytes.size() - 8) {
    ADD_FAILURE() << "bad safetensors header length in " << path;
    return out;
  }
  const auto header = nlohmann::json::parse(bytes.substr(8, header_len));
  const char* base = bytes.data() + 8 + header_len;
  const uint64_t data_size = bytes.size() - 8 - header_len;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    ExpectedTensor t;
    t.dtype = info.at("dtype").get<std::string>();
    t.shape = info.at("shape").get<std::vector<int64_t>>();
    const auto offsets = info.at("data_offsets").get<std::vector<uint64_t>>();
    if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size) {
      ADD_FAILURE() << "bad offsets for " << name;
      continue;
    }
    const char* p = base + offsets[0];
    const uint64_t n = offsets[1] - offsets[0];
    if (t.dtype == "F32") {
      t.f32.resize(n / 4);
      std::memcpy(t.f32.data(), p, n);
    } else if (t.dtype == "F16" || t.dtype == "BF16") {
      t.f32.resize(n / 2);
      for (uint64_t i = 0; i < n / 2; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        t.f32[i] = t.dtype == "F16" ? F16ToF32(h) : BF16ToF32(h);
      }
    } else if (t.dtype == "I32") {
      t.ints.resize(n / 4);
      for (uint64_t i = 0; i < n / 4; ++i) {
        int32_t v;
        std::memcpy(&v, p + 4 * i, 4);
        t.ints[i] = v;
      }
    } else if (t.dtype == "I64") {
      t.ints.resize(n / 8);
      std::memcpy(t.ints.data(), p, n);
    } else {
      ADD_FAILURE() << "unsupported dtype " << t.dtype << " for " << name;
      continue;
    }
    out.emplace(name, std::move(t));
  }
  return out;
}

}  // namespace fathom::testing
