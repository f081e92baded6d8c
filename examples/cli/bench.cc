// fathom bench: prompt-processing (pp) and generation (tg) speed of a model in tokens/s, measured
// as llama-bench does (median and spread of R repetitions after one warm-up), next to this
// machine's memory read bandwidth and the generation speed it allows, and, when LLAMA_BENCH
// names a llama-bench binary, llama.cpp's numbers on the same file from the same invocation.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "bandwidth.h"
#include "bench_stats.h"
#include "bench_weights.h"
#include "commands.h"
#include "common.h"
#include "fathom_commit.h"
#include "llama_bench.h"
#include "nlohmann/json.hpp"

namespace fathom::cli {
namespace {

using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr int kBandwidthPasses = 5;
constexpr int64_t kMaxContext = int64_t{1} << 24;  // tokens: the session's context size

struct TestResult {
  std::string name;  // "pp512", "tg128", "tg128 @ d4096"
  int32_t n_prompt = 0;
  int32_t n_gen = 0;
  int32_t depth = 0;  // tokens of context before the test
  int base = -1;      // --base-depth: index of the same test at the base depth
  bool is_base = false;
  std::vector<double> samples;  // tokens/s per repetition
  Summary summary;
  const LlamaBenchTest* llama = nullptr;  // llama-bench's result for the same test
  Summary llama_summary;
};

// Deterministic prompt: a fixed pseudo-random sequence of ordinary tokens (not BOS/EOS, not
// end-of-generation, not control tokens that decode to nothing).
std::vector<int32_t> PromptTokens(const Model& model, size_t n) {
  const Tokenizer& tok = model.tokenizer();
  const int32_t vocab =
      tok.has_text() ? std::min(tok.vocab_size(), model.info().n_vocab) : model.info().n_vocab;
  std::vector<int32_t> ids;
  ids.reserve(n);
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (size_t attempts = 0; ids.size() < n; ++attempts) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const int32_t id = static_cast<int32_t>((state >> 33) % static_cast<uint64_t>(vocab));
    bool ok = id != tok.bos() && id != tok.eos() && !tok.IsEndOfGeneration(id);
    if (ok && tok.has_text()) {
      Result<std::string> piece = tok.TokenToPiece(id);
      ok = piece.ok() && !piece->empty();
    }
    // A vocabulary of (almost) only special tokens: after many rejections any id will do.
    if (ok || attempts > 128 * n) ids.push_back(id);
  }
  return ids;
}

int32_t Argmax(const float* logits, int32_t n) {
  return static_cast<int32_t>(std::max_element(logits, logits + n) - logits);
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// One timed run of a test; returns tokens/s, or the error. The session's first `depth` tokens
// (prompt[0, depth), evaluated once before the first run) stay cached; the test runs after them.
Result<double> RunOnce(Session& session, const std::vector<int32_t>& prompt, int32_t depth,
                       const TestResult& t) {
  if (Status s = session.Truncate(depth); !s.ok()) return s;
  if (t.n_prompt > 0) {
    const std::vector<int32_t> tokens(prompt.begin() + depth, prompt.begin() + depth + t.n_prompt);
    const Clock::time_point t0 = Clock::now();
    if (Status s = session.Evaluate(tokens); !s.ok()) return s;
    return static_cast<double>(t.n_prompt) / Seconds(t0, Clock::now());
  }
  // Generation: one token first (untimed), then n_gen single-token steps, each computing the
  // full logits and feeding back their argmax, as a greedy decode does.
  std::vector<int32_t> one = {prompt[depth]};
  if (Status s = session.Evaluate(one); !s.ok()) return s;
  const Clock::time_point t0 = Clock::now();
  for (int32_t i = 0; i < t.n_gen; ++i) {
    one[0] = Argmax(session.logits(), session.n_vocab());
    if (Status s = session.Evaluate(one); !s.ok()) return s;
  }
  return static_cast<double>(t.n_gen) / Seconds(t0, Clock::now());
}

uint64_t FileBytes(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  if (!S_ISDIR(st.st_mode)) return static_cast<uint64_t>(st.st_size);
  return 0;  // a folder: see ModelBytes
}

std::string Gib(uint64_t bytes) {
  return absl::StrFormat("%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
}

std::string Human(uint64_t bytes) {
  if (bytes >= (uint64_t{1} << 30)) return Gib(bytes);
  if (bytes >= (uint64_t{1} << 20)) {
    return absl::StrFormat("%.2f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  }
  if (bytes >= 1024) return absl::StrFormat("%.2f KiB", static_cast<double>(bytes) / 1024.0);
  return absl::StrFormat("%d bytes", bytes);
}

Json OrNull(bool present, double value) { return present ? Json(value) : Json(nullptr); }

}  // namespace

int BenchCommand(int argc, char** argv) {
  std::string model_path;
  std::vector<int32_t> n_prompt = {512}, n_gen = {128};
  int32_t threads = 0, batch = 512, reps = 5, depth = 0, base_depth = -1;
  uint64_t bw_mib = 0;
  bool json = false, no_bandwidth = false, huge_pages = false;

  OptionParser parser("bench",
                      "Measures prompt processing (pp) and generation (tg) speed in tokens/s; set "
                      "LLAMA_BENCH to a llama-bench binary to compare with llama.cpp.");
  parser.AddString("-m,--model", "PATH",
                   "model: a GGUF file or a Hugging Face folder (default: the shipped demo model)",
                   &model_path);
  parser.AddIds("-p,--n-prompt", "N[,N...]",
                "prompt tokens per pp test; 0 = no pp test (default 512)", &n_prompt);
  parser.AddIds("-n,--n-gen", "N[,N...]",
                "generated tokens per tg test; 0 = no tg test (default 128)", &n_gen);
  parser.AddInt32("-t,--threads", "N", "threads; 0 = all hardware threads (default 0)", &threads);
  parser.AddInt32("-b,--batch-size", "N", "prompt tokens per forward pass (default 512)", &batch);
  parser.AddInt32("-r,--repetitions", "N", "timed runs of each test after one warm-up (default 5)",
                  &reps);
  parser.AddInt32("-d,--depth", "N",
                  "tokens already in the context before each test (evaluated once, not timed; "
                  "default 0)",
                  &depth);
  parser.AddInt32("--base-depth", "N",
                  "also run every test at N tokens of context in a second session, alternating "
                  "repetitions with the -d runs, and print the per-repetition speed ratios "
                  "(-d / base): a context-length comparison that machine noise affects less",
                  &base_depth);
  parser.AddFlag("--json", "print one JSON object instead of the table", &json);
  parser.AddFlag("--no-bandwidth", "skip the memory bandwidth probe", &no_bandwidth);
  parser.AddUint64("--bandwidth-mib", "N",
                   "bandwidth probe buffer in MiB (default: max(1024, 4 x L3 cache))", &bw_mib);
  parser.AddFlag("--bandwidth-huge-pages",
                 "probe on transparent huge pages (default: 4 KiB pages, as mapped model files)",
                 &huge_pages);
  if (int rc = ParseCommandLine(parser, argc, argv, {}); rc >= 0) return rc;
  if (threads < 0) return UsageError(parser, "-t must be >= 0");
  if (batch <= 0) return UsageError(parser, "-b must be > 0");
  if (reps < 1) return UsageError(parser, "-r must be >= 1");
  if (depth < 0) return UsageError(parser, "-d must be >= 0");
  if (parser.Given("--base-depth") && (base_depth < 0 || base_depth == depth)) {
    return UsageError(parser, "--base-depth must be >= 0 and differ from -d");
  }
  if (parser.Given("--bandwidth-mib") && (bw_mib < 1 || bw_mib > (uint64_t{1} << 20))) {
    return UsageError(parser, "--bandwidth-mib must be 1..1048576");
  }
  std::vector<TestResult> tests;
  auto add_test = [&tests, depth, base_depth](const char* kind, int32_t p, int32_t n) {
    for (int32_t d : {depth, base_depth}) {
      if (d < 0) continue;
      TestResult t;
      t.name = std::string(kind) + std::to_string(p + n);
      if (d > 0) t.name += " @ d" + std::to_string(d);
      t.n_prompt = p;
      t.n_gen = n;
      t.depth = d;
      t.is_base = d == base_depth;
      if (t.is_base) tests.back().base = static_cast<int>(tests.size());
      tests.push_back(std::move(t));
    }
  };
  for (int32_t p : n_prompt) {
    if (p > 0) add_test("pp", p, 0);
  }
  for (int32_t n : n_gen) {
    if (n > 0) add_test("tg", 0, n);
  }
  if (tests.empty()) return UsageError(parser, "nothing to measure: -p and -n are all 0");
  int32_t max_p = 0, max_n = 0;
  for (const TestResult& t : tests) {
    max_p = std::max(max_p, t.n_prompt);
    max_n = std::max(max_n, t.n_gen);
  }
  const int32_t max_depth = std::max(depth, base_depth);
  const int64_t n_ctx = int64_t{max_depth} + std::max<int64_t>(max_p, int64_t{max_n} + 1);
  if (n_ctx > kMaxContext) {
    return UsageError(parser, "-d plus the largest -p or -n + 1 is " + std::to_string(n_ctx) +
                                  " tokens; at most " + std::to_string(kMaxContext));
  }
  if (threads == 0)
    threads = static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency()));

  model_path = ResolveModelPath("bench", model_path);
  if (model_path.empty()) return kExitFailure;

  // Bandwidth first, before the model's pages compete for memory.
  BandwidthResult bw;
  Summary bw_summary;
  if (!no_bandwidth) {
    const uint64_t bytes = bw_mib > 0 ? bw_mib << 20 : DefaultBandwidthBufferBytes();
    if (!json) std::fprintf(stderr, "fathom bench: measuring memory read bandwidth...\n");
    bw = MeasureReadBandwidth(threads, bytes, kBandwidthPasses, huge_pages);
    if (!bw.error.empty()) {
      PrintError("bench", "bandwidth probe failed: " + bw.error + " (continuing without it)");
    }
    bw_summary = Summarize(bw.samples_gb_per_s);
  }

  std::shared_ptr<const Model> model = LoadModel("bench", model_path);
  if (!model) return kExitFailure;
  const ModelInfo& info = model->info();
  absl::StatusOr<ActiveWeights> active = absl::UnknownError("not computed");
  if (absl::StatusOr<ActiveWeightsInput> in = ActiveWeightsInputOf(*model); in.ok()) {
    active = CountActiveWeights(*in);
  } else {
    active = in.status();
  }
  if (!active.ok()) {
    PrintError("bench",
               "cannot count the active weight bytes: " + std::string(active.status().message()));
  }
  uint64_t file_bytes = FileBytes(model_path);
  if (file_bytes == 0 && active.ok()) file_bytes = active->total_bytes;  // a folder

  SessionOptions options;
  options.n_threads = threads;
  options.n_batch = batch;
  options.n_ctx = static_cast<int32_t>(n_ctx);
  const std::vector<int32_t> prompt =
      PromptTokens(*model, static_cast<size_t>(max_depth) + std::max<int32_t>(max_p, 1));
  // One session per depth (the -d one, and the --base-depth one), each filled once.
  std::unique_ptr<Session> sessions[2];
  for (int i = 0; i < (base_depth >= 0 ? 2 : 1); ++i) {
    sessions[i] = CreateSession("bench", model, options);
    if (!sessions[i]) return kExitFailure;
    const int32_t d = i == 0 ? depth : base_depth;
    if (d == 0) continue;
    if (!json) std::fprintf(stderr, "fathom bench: filling the context with %d tokens...\n", d);
    const std::vector<int32_t> context(prompt.begin(), prompt.begin() + d);
    if (Status s = sessions[i]->Evaluate(context); !s.ok()) {
      PrintError("bench", "cannot evaluate the context of " + std::to_string(d) +
                              " tokens: " + s.ToString());
      return kExitFailure;
    }
  }

  // Each test's runs; with --base-depth a test and its base-depth twin take turns, so both see
  // the same state of the machine.
  for (size_t i = 0; i < tests.size(); ++i) {
    if (tests[i].is_base) continue;
    std::vector<TestResult*> group = {&tests[i]};
    if (tests[i].base >= 0) group.push_back(&tests[tests[i].base]);
    if (!json) {
      std::fprintf(stderr, "fathom bench: %s%s...\n", tests[i].name.c_str(),
                   group.size() > 1 ? (" and " + group[1]->name).c_str() : "");
    }
    for (int rep = -1; rep < reps; ++rep) {  // rep -1: the warm-up
      for (TestResult* t : group) {
        Result<double> r = RunOnce(*sessions[t->is_base ? 1 : 0], prompt, t->depth, *t);
        if (!r.ok()) {
          PrintError("bench", t->name + " failed: " + r.status().ToString());
          return kExitFailure;
        }
        if (rep >= 0) t->samples.push_back(*r);
      }
    }
    for (TestResult* t : group) t->summary = Summarize(t->samples);
  }
  // Per-repetition ratios test / base-depth twin.
  auto depth_ratios = [&tests](const TestResult& t) {
    std::vector<double> r;
    if (t.base < 0) return r;
    const TestResult& b = tests[t.base];
    for (size_t i = 0; i < t.samples.size() && i < b.samples.size(); ++i) {
      if (b.samples[i] > 0) r.push_back(t.samples[i] / b.samples[i]);
    }
    return r;
  };

  // llama.cpp on the same file, threads and sizes.
  const char* llama_env = std::getenv("LLAMA_BENCH");
  std::string llama_status = "not_requested", llama_error, llama_commit;
  std::vector<LlamaBenchTest> llama_tests;
  if (llama_env != nullptr && llama_env[0] != '\0') {
    LlamaBenchRequest req;
    req.binary = llama_env;
    req.model = model_path;
    req.threads = threads;
    req.n_prompt = n_prompt;
    req.n_gen = n_gen;
    req.repetitions = reps;
    if (parser.Given("-b")) req.batch = batch;
    req.depth = depth;
    absl::StatusOr<std::vector<LlamaBenchTest>> lr =
        absl::FailedPreconditionError("llama-bench needs a GGUF file, not a folder");
    if (FileBytes(model_path) > 0) {
      if (!json) std::fprintf(stderr, "fathom bench: running %s...\n", llama_env);
      lr = RunLlamaBench(req);
    }
    if (lr.ok()) {
      llama_tests = *std::move(lr);
      llama_status = "ok";
      for (TestResult& t : tests) {
        if (t.is_base) continue;  // llama-bench ran at -d only
        t.llama = FindLlamaBenchTest(llama_tests, t.n_prompt, t.n_gen);
        if (t.llama == nullptr) continue;
        t.llama_summary = Summarize(t.llama->samples_ts);
        if (t.llama->samples_ts.empty()) {  // older outputs: only the mean
          t.llama_summary.median = t.llama_summary.min = t.llama_summary.max = t.llama->avg_ts;
        }
        if (llama_commit.empty()) llama_commit = t.llama->build_commit;
      }
    } else {
      llama_status = "failed";
      llama_error = std::string(lr.status().message());
      PrintError("bench", "LLAMA_BENCH=" + std::string(llama_env) +
                              " gave no result: " + llama_error + " (fathom's numbers only)");
    }
  }

  // The headline numbers: the last pp and tg test.
  const TestResult* pp = nullptr;
  const TestResult* tg = nullptr;
  for (const TestResult& t : tests) {
    if (!t.is_base) (t.n_prompt > 0 ? pp : tg) = &t;
  }
  const bool have_bw = !bw.samples_gb_per_s.empty();
  const double bw_best = have_bw ? bw_summary.max : 0;
  const bool have_limit = have_bw && active.ok() && active->active_bytes > 0;
  const double limit = have_limit ? bw_best * 1e9 / static_cast<double>(active->active_bytes) : 0;

  if (json) {
    Json j;
    j["fathom_version"] = VersionString();
    j["commit"] = kFathomCommit;
    j["model"] = model_path;
    j["model_file_bytes"] = file_bytes;
    j["architecture"] = info.architecture;
    j["n_params"] = info.n_params;
    j["threads"] = threads;
    j["batch"] = batch;
    j["repetitions"] = reps;
    j["depth"] = depth;
    j["base_depth"] = base_depth >= 0 ? Json(base_depth) : Json(nullptr);
    j["pp_tokens_per_s"] = OrNull(pp != nullptr, pp ? pp->summary.median : 0);
    j["tg_tokens_per_s"] = OrNull(tg != nullptr, tg ? tg->summary.median : 0);
    Json jt = Json::array();
    for (const TestResult& t : tests) {
      Json o;
      o["test"] = t.name;
      o["n_prompt"] = t.n_prompt;
      o["n_gen"] = t.n_gen;
      o["n_depth"] = t.depth;
      o["tokens_per_s"] = t.summary.median;
      o["min_tokens_per_s"] = t.summary.min;
      o["max_tokens_per_s"] = t.summary.max;
      o["stddev_tokens_per_s"] = t.summary.stddev;
      o["samples_tokens_per_s"] = t.samples;
      if (t.base >= 0) {
        const std::vector<double> r = depth_ratios(t);
        const Summary rs = Summarize(r);
        o["base_depth_test"] = tests[t.base].name;
        o["depth_ratio"] = r.empty() ? Json(nullptr) : Json(rs.median);
        o["depth_ratio_samples"] = r;
      }
      if (t.llama != nullptr) {
        o["llama_tokens_per_s"] = t.llama_summary.median;
        o["llama_avg_ts"] = t.llama->avg_ts;
        o["llama_samples_ts"] = t.llama->samples_ts;
        o["ratio"] = t.llama_summary.median > 0 ? Json(t.summary.median / t.llama_summary.median)
                                                : Json(nullptr);
      }
      jt.push_back(std::move(o));
    }
    j["tests"] = std::move(jt);
    Json jb;
    if (have_bw) {
      jb["gb_per_s"] = bw_best;
      jb["median_gb_per_s"] = bw_summary.median;
      jb["samples_gb_per_s"] = bw.samples_gb_per_s;
      jb["buffer_bytes"] = bw.buffer_bytes;
      jb["threads"] = bw.threads;
      jb["huge_pages"] = huge_pages;
    }
    j["bandwidth"] = have_bw ? jb : Json(nullptr);
    j["bandwidth_gb_per_s"] = OrNull(have_bw, bw_best);
    if (active.ok()) {
      j["active_weight_bytes_per_token"] = active->active_bytes;
      j["weights"] = {{"total_bytes", active->total_bytes},
                      {"dense_bytes", active->dense_bytes},
                      {"routed_expert_bytes", active->routed_bytes},
                      {"routed_expert_active_bytes", active->routed_active_bytes},
                      {"embedding_bytes", active->embedding_bytes},
                      {"embedding_active_bytes", active->embedding_active_bytes},
                      {"tied_head", active->tied_head},
                      {"not_counted_bytes", active->skipped_bytes}};
    } else {
      j["active_weight_bytes_per_token"] = nullptr;
    }
    j["tg_limit_tokens_per_s"] = OrNull(have_limit, limit);
    j["tg_fraction_of_limit"] =
        OrNull(have_limit && tg != nullptr, tg && limit > 0 ? tg->summary.median / limit : 0);
    Json jl;
    jl["status"] = llama_status;
    if (llama_env != nullptr && llama_env[0] != '\0') jl["binary"] = llama_env;
    if (!llama_error.empty()) jl["error"] = llama_error;
    if (!llama_commit.empty()) jl["build_commit"] = llama_commit;
    j["llama_bench"] = std::move(jl);
    const bool lpp = pp != nullptr && pp->llama != nullptr;
    const bool ltg = tg != nullptr && tg->llama != nullptr;
    j["llama_pp_tokens_per_s"] = OrNull(lpp, lpp ? pp->llama_summary.median : 0);
    j["llama_tg_tokens_per_s"] = OrNull(ltg, ltg ? tg->llama_summary.median : 0);
    j["pp_ratio"] = OrNull(
        lpp && pp->llama_summary.median > 0,
        lpp && pp->llama_summary.median > 0 ? pp->summary.median / pp->llama_summary.median : 0);
    j["tg_ratio"] = OrNull(
        ltg && tg->llama_summary.median > 0,
        ltg && tg->llama_summary.median > 0 ? tg->summary.median / tg->llama_summary.median : 0);
    std::printf("%s\n", j.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
    return kExitOk;
  }

  std::printf("model: %s (%s, %s, %.4g M parameters)\n", model_path.c_str(),
              info.architecture.c_str(), Human(file_bytes).c_str(),
              static_cast<double>(info.n_params) / 1e6);
  std::printf("%s (commit %s), %d threads, batch %d, %d repetition(s) after 1 warm-up%s\n",
              VersionString(), kFathomCommit, threads, batch, reps,
              depth > 0 ? (", " + std::to_string(depth) + " tokens of context").c_str() : "");
  const bool any_llama = llama_status == "ok";
  std::printf("\n| test | fathom t/s (median) | min - max | stddev |%s\n",
              any_llama ? " llama.cpp t/s (median) | min - max | fathom / llama.cpp |" : "");
  std::printf("|---|---:|---:|---:|%s\n", any_llama ? "---:|---:|---:|" : "");
  for (const TestResult& t : tests) {
    std::printf("| %s | %.2f | %.2f - %.2f | %.2f |", t.name.c_str(), t.summary.median,
                t.summary.min, t.summary.max, t.summary.stddev);
    if (any_llama) {
      if (t.llama != nullptr) {
        std::printf(" %.2f | %.2f - %.2f | %.2fx |", t.llama_summary.median, t.llama_summary.min,
                    t.llama_summary.max,
                    t.llama_summary.median > 0 ? t.summary.median / t.llama_summary.median : 0.0);
      } else {
        std::printf(" - | - | - |");
      }
    }
    std::printf("\n");
  }
  std::printf("\n");
  for (const TestResult& t : tests) {
    const std::vector<double> r = depth_ratios(t);
    if (r.empty()) continue;
    const Summary rs = Summarize(r);
    std::printf("%s / %s: %.3f (median of %d alternating repetitions; %.3f - %.3f)\n",
                t.name.c_str(), tests[t.base].name.c_str(), rs.median, rs.n, rs.min, rs.max);
  }
  if (have_bw) {
    std::printf(
        "memory read bandwidth: %.1f GB/s (best of %d passes over %s%s with %d threads; "
        "median %.1f)\n",
        bw_best, bw_summary.n, Human(bw.buffer_bytes).c_str(), huge_pages ? " on huge pages" : "",
        bw.threads, bw_summary.median);
  } else {
    std::printf("memory read bandwidth: not measured%s\n", no_bandwidth ? " (--no-bandwidth)" : "");
  }
  if (active.ok()) {
    std::printf(
        "active weight bytes per token: %s (dense %s + routed experts %s of %s + "
        "embedding %s%s)\n",
        Human(active->active_bytes).c_str(), Human(active->dense_bytes).c_str(),
        Human(active->routed_active_bytes).c_str(), Human(active->routed_bytes).c_str(),
        Human(active->embedding_active_bytes).c_str(),
        active->tied_head ? ", tied to the head" : " row");
  }
  if (have_limit) {
    std::printf("generation limit at that bandwidth: %.2f tokens/s", limit);
    if (tg != nullptr) {
      std::printf("; %s reaches %.0f%% of it", tg->name.c_str(),
                  100.0 * tg->summary.median / limit);
    }
    std::printf("\n");
  }
  if (llama_status == "ok") {
    std::printf("llama.cpp: %s (build %s)\n", llama_env,
                llama_commit.empty() ? "unknown" : llama_commit.c_str());
  } else if (llama_status == "failed") {
    std::printf("llama.cpp: LLAMA_BENCH=%s failed: %s\n", llama_env, llama_error.c_str());
  } else {
    std::printf("llama.cpp: not run (set LLAMA_BENCH to a llama-bench binary to compare)\n");
  }
  return kExitOk;
}

}  // namespace fathom::cli
