// fathom run: generates text from a prompt, streamed to stdout or printed as one JSON object;
// optionally restores a saved session first (--load-state) and saves it afterwards
// (--save-state), so that two runs continue exactly like one longer run.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "common.h"
#include "nlohmann/json.hpp"

namespace fathom::cli {
namespace {

// Takes every "--name VALUE" / "--name=VALUE" out of argv (the OptionParser keeps one value
// per option; this one may be repeated). Returns false when the last one lacks its value.
bool ExtractRepeated(std::string_view name, int argc, char** argv, std::vector<char*>* rest,
                     std::vector<std::string>* values) {
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == name) {
      if (i + 1 >= argc) return false;
      values->emplace_back(argv[++i]);
    } else if (arg.size() > name.size() && arg.starts_with(name) && arg[name.size()] == '=') {
      values->emplace_back(arg.substr(name.size() + 1));
    } else {
      rest->push_back(argv[i]);
    }
  }
  return true;
}

// --stats: timings, and what speculation did, on stderr.
void PrintStats(size_t n_prompt, const GenerateResult& r, double prompt_s, double generate_s) {
  std::fprintf(stderr, "prompt: %zu tokens in %.3f s (%.2f tokens/s)\n", n_prompt, prompt_s,
               prompt_s > 0 ? static_cast<double>(n_prompt) / prompt_s : 0.0);
  std::fprintf(stderr, "generation: %zu tokens in %.3f s (%.2f tokens/s)\n", r.tokens.size(),
               generate_s,
               generate_s > 0 ? static_cast<double>(r.tokens.size()) / generate_s : 0.0);
  const SpeculativeStats& s = r.speculative;
  if (s.main_forwards == 0) return;
  std::fprintf(stderr,
               "speculation (mtp): %lld drafted, %lld accepted (%.1f%%), %.3f tokens per main "
               "forward (%lld forwards)\n",
               static_cast<long long>(s.drafted), static_cast<long long>(s.accepted),
               100.0 * s.acceptance_rate(), s.tokens_per_forward(),
               static_cast<long long>(s.main_forwards));
  for (int d = 0; d < kMaxDraftTokens && s.drafted_at_depth[d] > 0; ++d) {
    std::fprintf(stderr, "  depth %d: %lld drafted, %lld accepted (%.1f%%)\n", d + 1,
                 static_cast<long long>(s.drafted_at_depth[d]),
                 static_cast<long long>(s.accepted_at_depth[d]),
                 100.0 * static_cast<double>(s.accepted_at_depth[d]) /
                     static_cast<double>(s.drafted_at_depth[d]));
  }
}

}  // namespace

int RunCommand(int argc, char** argv) {
  std::vector<std::string> stops;
  std::vector<char*> args;
  const bool stops_ok = ExtractRepeated("--stop", argc, argv, &args, &stops);
  std::string model_path, prompt, save_state, load_state, stop_help;
  std::vector<int32_t> prompt_ids;
  bool prompt_ids_evaluated = false;  // with --stats the prompt is evaluated before Generate
  GenerateOptions generate;           // its defaults: 128 tokens, temp 0.8, top-k 40, top-p 0.95
  SessionOptions session_options;
  bool ignore_eos = false, json = false, stats = false;
  int32_t mtp_draft = 0;

  OptionParser parser("run", "Generates text from a prompt and streams it to stdout.");
  parser.AddString("-m,--model", "PATH",
                   "model: a GGUF file or a Hugging Face folder (default: the shipped demo model, "
                   "docs/DEMO_MODEL.md)",
                   &model_path);
  parser.AddString("-p,--prompt", "TEXT",
                   "prompt text (tokenized with BOS, no special tokens; with --load-state it is "
                   "appended without BOS)",
                   &prompt);
  parser.AddIds("--prompt-ids", "IDS", "prompt as comma-separated token ids, instead of -p",
                &prompt_ids);
  parser.AddInt32(
      "-n,--n-predict", "N",
      "tokens to generate at most (default " + std::to_string(generate.max_tokens) + ")",
      &generate.max_tokens);
  parser.AddFloat("--temp", "T", "temperature; 0 = greedy (default 0.8)",
                  &generate.sampler.temperature);
  parser.AddInt32("--top-k", "K", "keep the K most likely tokens; 0 = all (default 40)",
                  &generate.sampler.top_k);
  parser.AddFloat("--top-p", "P", "nucleus sampling threshold; 1 = off (default 0.95)",
                  &generate.sampler.top_p);
  parser.AddUint64("--seed", "S",
                   "random seed (default " + std::to_string(generate.sampler.seed) + ")",
                   &generate.sampler.seed);
  parser.AddInt32("-t,--threads", "N", "threads; 0 = all hardware threads (default 0)",
                  &session_options.n_threads);
  parser.AddInt32("-c,--ctx-size", "N", "context size in tokens; 0 = model's, at most 4096",
                  &session_options.n_ctx);
  parser.AddInt32("-b,--batch-size", "N", "prompt tokens per forward pass (default 512)",
                  &session_options.n_batch);
  parser.AddFloat("--repeat-penalty", "X",
                  "penalise tokens of the last --repeat-last-n; 1 = off (default 1)",
                  &generate.sampler.repeat_penalty);
  parser.AddInt32("--repeat-last-n", "N",
                  "penalty window in tokens; 0 = off, -1 = whole context (default 64)",
                  &generate.sampler.penalty_last_n);
  parser.AddFloat("--min-p", "P", "drop tokens below P x the best one's probability (default 0.05)",
                  &generate.sampler.min_p);
  parser.AddString("--stop", "STR", "stop when the text contains STR (repeatable)", &stop_help);
  parser.AddString("--save-state", "FILE", "write the session (tokens, KV cache, RNG) afterwards",
                   &save_state);
  parser.AddString("--load-state", "FILE",
                   "restore a session saved with --save-state, then continue generating",
                   &load_state);
  parser.AddInt32("--mtp", "N",
                  "speculative decoding: the model's MTP module drafts N tokens (1-3) per step, "
                  "one batched forward verifies them (DeepSeek-V3/R1; same greedy output)",
                  &mtp_draft);
  parser.AddFlag("--stats", "print timings (and with --mtp the drafted/accepted counts) to stderr",
                 &stats);
  parser.AddFlag("--ignore-eos", "keep generating after an end-of-generation token", &ignore_eos);
  parser.AddFlag("--json", "print {\"prompt_ids\", \"output_ids\", \"text\"} instead of streaming",
                 &json);
  if (!stops_ok) return UsageError(parser, "option '--stop' needs a value (STR)");
  if (int rc = ParseCommandLine(parser, static_cast<int>(args.size()), args.data(), {}); rc >= 0) {
    return rc;
  }
  const bool resume = parser.Given("--load-state");
  if (parser.Given("--prompt") && parser.Given("--prompt-ids")) {
    return UsageError(parser, "give only one of -p/--prompt and --prompt-ids");
  }
  if (!resume && !parser.Given("--prompt") && !parser.Given("--prompt-ids")) {
    return UsageError(parser, "give -p/--prompt or --prompt-ids (or --load-state)");
  }
  for (const std::string& s : stops) {
    if (s.empty()) return UsageError(parser, "--stop needs a non-empty string");
  }
  if (generate.sampler.repeat_penalty <= 0)
    return UsageError(parser, "--repeat-penalty must be > 0");
  if (generate.sampler.penalty_last_n < -1)
    return UsageError(parser, "--repeat-last-n must be >= -1");
  if (generate.sampler.min_p < 0 || generate.sampler.min_p > 1) {
    return UsageError(parser, "--min-p must be in [0, 1]");
  }
  generate.stop = stops;
  generate.evaluate_last = parser.Given("--save-state");
  if (generate.max_tokens < 0) return UsageError(parser, "-n must be >= 0");
  if (generate.sampler.temperature < 0) return UsageError(parser, "--temp must be >= 0");
  if (session_options.n_threads < 0) return UsageError(parser, "-t must be >= 0");
  if (session_options.n_ctx < 0) return UsageError(parser, "-c must be >= 0");
  if (session_options.n_batch <= 0) return UsageError(parser, "-b must be > 0");
  generate.stop_at_eos = !ignore_eos;
  if (parser.Given("--mtp")) {
    if (mtp_draft < 1 || mtp_draft > kMaxDraftTokens) {
      return UsageError(parser, "--mtp must be 1.." + std::to_string(kMaxDraftTokens));
    }
    generate.speculative = Speculative::kMtp;
    generate.n_draft = mtp_draft;
    session_options.mtp = true;
  }

  model_path = ResolveModelPath("run", model_path);
  if (model_path.empty()) return kExitFailure;
  std::shared_ptr<const Model> model = LoadModel("run", model_path);
  if (!model) return kExitFailure;
  if (parser.Given("--prompt")) {
    Tokenizer::EncodeOptions encode;
    encode.add_bos = !resume;
    encode.parse_special = false;
    Result<std::vector<int32_t>> ids = model->tokenizer().Encode(prompt, encode);
    if (!ids.ok()) {
      PrintError("run", "cannot tokenize the prompt: " + ids.status().message());
      return kExitFailure;
    }
    prompt_ids = std::move(ids).value();
  }
  std::unique_ptr<Session> session = CreateSession("run", model, session_options);
  if (!session) return kExitFailure;
  if (resume) {
    const Status st = session->LoadStateFromFile(load_state);
    if (!st.ok()) {
      PrintError("run", "cannot restore '" + load_state + "': " + st.ToString());
      return kExitFailure;
    }
    // Without --seed, the restored RNG goes on where the saved run stopped.
    if (!parser.Given("--seed") && session->sampler_seed()) {
      generate.sampler.seed = *session->sampler_seed();
    }
  }

  if (!json) {
    // Generate hands over text only once its UTF-8 characters are complete.
    generate.on_token = [](int32_t, const std::string& piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    };
  }
  using Clock = std::chrono::steady_clock;
  const Clock::time_point t0 = Clock::now();
  if (stats && !prompt_ids.empty()) {
    // Timed apart from generation; Generate then continues from these logits.
    const Status st = session->Evaluate(prompt_ids);
    if (!st.ok()) {
      PrintError("run", "cannot evaluate the prompt: " + st.ToString());
      return kExitFailure;
    }
    prompt_ids_evaluated = true;
  }
  const Clock::time_point t1 = Clock::now();
  Result<GenerateResult> result =
      session->Generate(prompt_ids_evaluated ? std::vector<int32_t>() : prompt_ids, generate);
  const Clock::time_point t2 = Clock::now();
  if (!result.ok()) {
    if (!json) std::fputc('\n', stdout);
    PrintError("run", "generation failed: " + result.status().message());
    return kExitFailure;
  }
  if (result->stop_reason == GenerateResult::StopReason::kContextFull) {
    std::fprintf(stderr, "fathom run: stopped after %zu tokens: the context (%d) is full\n",
                 result->tokens.size(), session->n_ctx());
  }
  if (!save_state.empty()) {
    const Status st = session->SaveStateToFile(save_state);
    if (!st.ok()) {
      if (!json) std::fputc('\n', stdout);
      PrintError("run", "cannot save the session to '" + save_state + "': " + st.ToString());
      return kExitFailure;
    }
  }
  if (stats) {
    if (!json) std::fputc('\n', stdout);
    std::fflush(stdout);
    PrintStats(prompt_ids.size(), *result, std::chrono::duration<double>(t1 - t0).count(),
               std::chrono::duration<double>(t2 - t1).count());
  }
  if (json) {
    const nlohmann::ordered_json out = {
        {"prompt_ids", prompt_ids}, {"output_ids", result->tokens}, {"text", result->text}};
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else if (!stats) {
    std::fputc('\n', stdout);
  }
  return kExitOk;
}

}  // namespace fathom::cli
