// Tokenizer encode throughput (MB/s) on the fixture tokenizers: a deterministic ~4 MiB mixed
// corpus (the public case texts - English, Italian, CJK, emoji, code, numbers, whitespace - in a
// fixed pseudo-random order, with extra digit strings and whitespace runs), plus pathological
// inputs (1 MiB of spaces, 1 MiB of one letter). FATHOM_FIXTURES overrides the fixtures folder;
// FATHOM_BENCH_CORPUS=PATH writes the corpus there so bench/hf_tokenizers_bench.mjs can time
// Hugging Face tokenizers on exactly the same bytes.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "nlohmann/json.hpp"
#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/spm_model_file.h"
#include "tokenizer/tokenizer_impl.h"

namespace fathom::internal {
namespace {

constexpr size_t kCorpusBytes = 4u << 20;

std::string Fixtures() {
  const char* env = std::getenv("FATHOM_FIXTURES");
  return env != nullptr ? env : FATHOM_FIXTURES_DEFAULT;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Encodes as `fathom tokenize --tokenizer FILE` does: the file's own rules, no specials added,
// special-token text parsed (what HF's encode(text, add_special_tokens=False) does).
struct Loaded {
  std::unique_ptr<HfTokenizer> hf;
  std::unique_ptr<SpmModelFileTokenizer> spm;
  absl::StatusOr<std::vector<int32_t>> Encode(const std::string& text) const {
    if (hf != nullptr) return hf->EncodeWithFileRules(text, false, true);
    return spm->Encode(text, false, true);
  }
};

const Loaded* Load(const std::string& dir) {
  static auto* cache = new std::map<std::string, std::unique_ptr<Loaded>>();
  auto it = cache->find(dir);
  if (it != cache->end()) return it->second.get();
  const std::string base = Fixtures() + "/tokenizers/" + dir + "/";
  auto loaded = std::make_unique<Loaded>();
  const std::string json = Slurp(base + "tokenizer.json");
  if (!json.empty()) {
    auto tok = HfTokenizer::Create(json, "");
    if (!tok.ok()) return nullptr;
    loaded->hf = *std::move(tok);
  } else {
    auto tok = SpmModelFileTokenizer::Create(Slurp(base + "tokenizer.model"));
    if (!tok.ok()) return nullptr;
    loaded->spm = *std::move(tok);
  }
  return (*cache)[dir] = std::move(loaded), (*cache)[dir].get();
}

// The mixed corpus: case texts picked by a fixed LCG, separated by newlines; every 16th piece is
// a run of 1-64 spaces/tabs or a 1-20 digit number.
const std::string& MixedCorpus() {
  static const std::string* corpus = [] {
    std::vector<std::string> texts;
    std::istringstream lines(Slurp(Fixtures() + "/tokenizers/deepseek-v3/cases.jsonl"));
    for (std::string line; std::getline(lines, line);) {
      nlohmann::json c = nlohmann::json::parse(line, nullptr, false);
      const nlohmann::json* t = c.is_object() && c.contains("text") ? &c["text"] : nullptr;
      if (t != nullptr && t->is_string() && !t->get<std::string>().empty()) {
        texts.push_back(t->get<std::string>());
      }
    }
    auto* out = new std::string();
    if (texts.empty()) return out;
    uint64_t state = 0x2545F4914F6CDD1DULL;
    const auto next = [&] {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      return static_cast<uint32_t>(state >> 33);
    };
    for (uint64_t piece = 0;; ++piece) {
      std::string add;
      if (piece % 16 == 15) {
        const uint32_t kind = next() % 2, len = 1 + next() % (kind == 0 ? 64 : 20);
        for (uint32_t i = 0; i < len; ++i) {
          add += kind == 0 ? (next() % 4 == 0 ? '\t' : ' ') : static_cast<char>('0' + next() % 10);
        }
      } else {
        add = texts[next() % texts.size()];
      }
      add += '\n';
      if (out->size() + add.size() > kCorpusBytes) break;
      *out += add;
    }
    if (const char* dump = std::getenv("FATHOM_BENCH_CORPUS"); dump != nullptr) {
      std::ofstream(dump, std::ios::binary) << *out;
    }
    return out;
  }();
  return *corpus;
}

void Encode(benchmark::State& state, const std::string& dir, const std::string& text) {
  const Loaded* tok = Load(dir);
  if (tok == nullptr || text.empty()) {
    state.SkipWithError("fixture missing");
    return;
  }
  size_t tokens = 0;
  for (auto _ : state) {
    auto ids = tok->Encode(text);
    if (!ids.ok()) {
      state.SkipWithError("encode failed");
      return;
    }
    tokens = ids->size();
    benchmark::DoNotOptimize(ids->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["bytes"] = static_cast<double>(text.size());
}

void BM_EncodeMixed(benchmark::State& state, const char* dir) { Encode(state, dir, MixedCorpus()); }
BENCHMARK_CAPTURE(BM_EncodeMixed, deepseek_v3, "deepseek-v3")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed, qwen3, "qwen3")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed, llama3, "llama3")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed, mistral, "mistral-7b-v0.1")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed, llama2_spm, "llama2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed, albert_unigram, "albert-unigram-spm")
    ->Unit(benchmark::kMillisecond);

// The same corpus encoded one line at a time (many short calls instead of one long one).
void BM_EncodeMixedLines(benchmark::State& state, const char* dir) {
  const Loaded* tok = Load(dir);
  const std::string& corpus = MixedCorpus();
  if (tok == nullptr || corpus.empty()) {
    state.SkipWithError("fixture missing");
    return;
  }
  std::vector<std::string> lines;
  for (size_t b = 0, e; b < corpus.size(); b = e + 1) {
    e = corpus.find('\n', b);
    if (e == std::string::npos) e = corpus.size();
    lines.push_back(corpus.substr(b, e - b));
  }
  size_t tokens = 0;
  for (auto _ : state) {
    tokens = 0;
    for (const std::string& line : lines) {
      auto ids = tok->Encode(line);
      if (!ids.ok()) {
        state.SkipWithError("encode failed");
        return;
      }
      tokens += ids->size();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["lines"] = static_cast<double>(lines.size());
}
BENCHMARK_CAPTURE(BM_EncodeMixedLines, deepseek_v3, "deepseek-v3")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixedLines, qwen3, "qwen3")->Unit(benchmark::kMillisecond);

void BM_EncodeSpaces(benchmark::State& state, const char* dir) {
  static const std::string* text = new std::string(std::string(1u << 20, ' ') + "x");
  Encode(state, dir, *text);
}
BENCHMARK_CAPTURE(BM_EncodeSpaces, deepseek_v3, "deepseek-v3")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeSpaces, llama2_spm, "llama2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeSpaces, albert_unigram, "albert-unigram-spm")
    ->Unit(benchmark::kMillisecond);

void BM_EncodeLongWord(benchmark::State& state, const char* dir) {
  static const std::string* text = new std::string(1u << 20, 'a');
  Encode(state, dir, *text);
}
BENCHMARK_CAPTURE(BM_EncodeLongWord, deepseek_v3, "deepseek-v3")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeLongWord, llama2_spm, "llama2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeLongWord, albert_unigram, "albert-unigram-spm")
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fathom::internal
