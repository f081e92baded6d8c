// Tokenizer encode throughput (MB/s) on the fixture tokenizers: mixed text built from the
// public cases, a long run of spaces and one long word. FATHOM_FIXTURES overrides the fixtures.
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "benchmark/benchmark.h"
#include "nlohmann/json.hpp"
#include "tokenizer/hf_tokenizer.h"

namespace fathom::internal {
namespace {

std::string Fixtures() {
  const char* env = std::getenv("FATHOM_FIXTURES");
  if (env != nullptr) return env;
  const std::string here = __FILE__;  // <repo>/bench/tokenizer_bench.cc
  return here.substr(0, here.rfind("/bench/")) + "/../shared/fixtures";
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const HfTokenizer* Load(const std::string& dir) {
  static auto* cache = new std::map<std::string, std::unique_ptr<HfTokenizer>>();
  auto it = cache->find(dir);
  if (it != cache->end()) return it->second.get();
  const std::string base = Fixtures() + "/tokenizers/" + dir + "/";
  auto tok = HfTokenizer::Create(Slurp(base + "tokenizer.json"), "");
  if (!tok.ok()) return nullptr;
  return (*cache)[dir] = *std::move(tok), (*cache)[dir].get();
}

// All case texts of a fixture folder, concatenated with newlines (~40 KB), repeated.
std::string MixedText(const std::string& dir) {
  std::string all;
  std::istringstream lines(Slurp(Fixtures() + "/tokenizers/" + dir + "/cases.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    nlohmann::json c = nlohmann::json::parse(line, nullptr, false);
    const nlohmann::json* t = c.is_object() && c.contains("text") ? &c["text"] : nullptr;
    if (t != nullptr && t->is_string()) all += t->get<std::string>() + "\n";
  }
  std::string out;
  while (out.size() < (1 << 20)) out += all;
  return out;
}

void Encode(benchmark::State& state, const std::string& dir, const std::string& text) {
  const HfTokenizer* tok = Load(dir);
  if (tok == nullptr || text.empty()) {
    state.SkipWithError("fixture missing");
    return;
  }
  size_t tokens = 0;
  for (auto _ : state) {
    auto ids = tok->EncodeWithFileRules(text, false, true);
    if (!ids.ok()) {
      state.SkipWithError("encode failed");
      return;
    }
    tokens = ids->size();
    benchmark::DoNotOptimize(ids->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}

void BM_EncodeMixed(benchmark::State& state, const char* dir) {
  static auto* texts = new std::map<std::string, std::string>();
  if (!texts->contains(dir)) (*texts)[dir] = MixedText(dir);
  Encode(state, dir, (*texts)[dir]);
}
BENCHMARK_CAPTURE(BM_EncodeMixed, deepseek_v3, "deepseek-v3")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed, qwen3, "qwen3")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed, llama3, "llama3")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed, mistral, "mistral-7b-v0.1")->Unit(benchmark::kMillisecond);

void BM_EncodeSpaces(benchmark::State& state) {
  Encode(state, "deepseek-v3", std::string(1 << 20, ' ') + "x");
}
BENCHMARK(BM_EncodeSpaces)->Unit(benchmark::kMillisecond);

void BM_EncodeLongWord(benchmark::State& state) {
  Encode(state, "deepseek-v3", std::string(1 << 20, 'a'));
}
BENCHMARK(BM_EncodeLongWord)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fathom::internal
