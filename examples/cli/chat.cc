// fathom chat: an interactive REPL over one session. With the model's chat template the whole
// conversation is rendered each turn; without one, turns are plain text ("User: ...\nAssistant:").
// Only what is new is evaluated (prefix reuse), the reply streams as it is generated,
// and reasoning between <think> and </think> is shown dimmed, plainly or hidden.
// Commands: /save FILE, /load FILE, /reset, /quit (or end of input).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "common.h"

namespace fathom::cli {
namespace {

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";
constexpr std::string_view kUserPrefix = "User: ";
constexpr std::string_view kAssistantPrefix = "\nAssistant:";
constexpr std::string_view kTurnEnd = "\nUser:";

enum class ReasoningMode { kDim, kShow, kHide };

// Streams reply text to stdout, styling what lies between the think tags. A tag split across
// pieces is held back until it is complete (or cannot be one).
class ReasoningPrinter {
 public:
  ReasoningPrinter(ReasoningMode mode, bool color) : mode_(mode), color_(color) {}
  void Write(std::string_view text) {
    held_.append(text);
    while (!held_.empty()) {
      const std::string_view tag = thinking_ ? kThinkClose : kThinkOpen;
      const size_t at = held_.find(tag);
      if (at != std::string::npos) {
        Emit(std::string_view(held_).substr(0, at));
        held_.erase(0, at + tag.size());
        thinking_ = !thinking_;
        if (mode_ == ReasoningMode::kDim && color_)
          std::fputs(thinking_ ? "\x1b[2m" : "\x1b[0m", stdout);
        continue;
      }
      // Keep a tail that may be the start of the tag.
      size_t keep = 0;
      for (size_t k = std::min(tag.size() - 1, held_.size()); k > 0; --k) {
        if (std::string_view(held_).substr(held_.size() - k) == tag.substr(0, k)) {
          keep = k;
          break;
        }
      }
      Emit(std::string_view(held_).substr(0, held_.size() - keep));
      held_.erase(0, held_.size() - keep);
      break;
    }
    std::fflush(stdout);
  }
  void Finish() {
    Emit(held_);
    held_.clear();
    if (thinking_ && mode_ == ReasoningMode::kDim && color_) std::fputs("\x1b[0m", stdout);
    thinking_ = false;
    std::fflush(stdout);
  }

 private:
  void Emit(std::string_view s) {
    if (thinking_ && mode_ == ReasoningMode::kHide) return;
    std::fwrite(s.data(), 1, s.size(), stdout);
  }
  ReasoningMode mode_;
  bool color_;
  bool thinking_ = false;
  std::string held_;
};

}  // namespace

int ChatCommand(int argc, char** argv) {
  std::string model_path, system_prompt, reasoning = "dim";
  GenerateOptions generate;
  generate.max_tokens = 512;
  SessionOptions session_options;
  bool no_color = false;
  OptionParser parser("chat", "Talks with a model interactively (streamed replies).");
  parser.AddString("-m,--model", "PATH",
                   "model: a GGUF file or a Hugging Face folder (default: the shipped demo model, "
                   "docs/DEMO_MODEL.md)",
                   &model_path);
  parser.AddString("--system", "TEXT", "text placed before the conversation", &system_prompt);
  parser.AddInt32("-n,--n-predict", "N", "tokens per reply at most (default 512)",
                  &generate.max_tokens);
  parser.AddFloat("--temp", "T", "temperature; 0 = greedy (default 0.8)",
                  &generate.sampler.temperature);
  parser.AddFloat("--top-p", "P", "nucleus sampling threshold (default 0.95)",
                  &generate.sampler.top_p);
  parser.AddFloat("--min-p", "P", "min-p threshold (default 0.05)", &generate.sampler.min_p);
  parser.AddFloat("--repeat-penalty", "X", "repetition penalty; 1 = off (default 1)",
                  &generate.sampler.repeat_penalty);
  parser.AddUint64("--seed", "S", "random seed", &generate.sampler.seed);
  parser.AddInt32("-t,--threads", "N", "threads; 0 = all hardware threads (default 0)",
                  &session_options.n_threads);
  parser.AddInt32("-c,--ctx-size", "N", "context size in tokens; 0 = model's, at most 4096",
                  &session_options.n_ctx);
  parser.AddString("--reasoning", "MODE", "<think> text: dim, show or hide (default dim)",
                   &reasoning);
  parser.AddFlag("--no-color", "no terminal escape codes", &no_color);
  if (int rc = ParseCommandLine(parser, argc, argv, {}); rc >= 0) return rc;
  ReasoningMode mode;
  if (reasoning == "dim") {
    mode = ReasoningMode::kDim;
  } else if (reasoning == "show") {
    mode = ReasoningMode::kShow;
  } else if (reasoning == "hide") {
    mode = ReasoningMode::kHide;
  } else {
    return UsageError(parser, "--reasoning must be dim, show or hide");
  }
  if (generate.max_tokens <= 0) return UsageError(parser, "-n must be > 0");
  // A long conversation keeps going: the oldest turns give way (the system text stays).
  session_options.context_overflow = ContextOverflow::kShift;

  model_path = ResolveModelPath("chat", model_path);
  if (model_path.empty()) return kExitFailure;
  std::shared_ptr<const Model> model = LoadModel("chat", model_path);
  if (!model) return kExitFailure;
  const Tokenizer& tok = model->tokenizer();
  if (!tok.has_text()) {
    PrintError("chat", "this model has no tokenizer");
    return kExitFailure;
  }
  // With a chat template the model ends its turn with its end-of-generation token; without one
  // the conversation is plain text and a new "User:" line ends the reply.
  const bool use_template = !tok.chat_template().empty();
  std::vector<ChatMessage> history;
  if (use_template) {
    session_options.context_overflow = ContextOverflow::kError;
    if (!system_prompt.empty()) history.push_back({"system", system_prompt});
  } else {
    generate.stop = {std::string(kTurnEnd)};
  }
  std::vector<int32_t> system_ids, conversation;
  if (!system_prompt.empty() && !use_template) {
    auto ids = tok.Encode(system_prompt + "\n", {.add_bos = true, .parse_special = false});
    if (!ids.ok()) {
      PrintError("chat", ids.status().ToString());
      return kExitFailure;
    }
    system_ids = *ids;
    session_options.n_keep = static_cast<int32_t>(system_ids.size());
  }
  std::unique_ptr<Session> session = CreateSession("chat", model, session_options);
  if (!session) return kExitFailure;
  generate.evaluate_last = true;  // the reply is part of the context of the next turn

  const bool color = !no_color;
  std::string line;
  bool after_stop = false;
  std::fputs("fathom chat: /save FILE, /load FILE, /reset, /quit\n", stderr);
  while (true) {
    std::fputs(color ? "\x1b[1m> \x1b[0m" : "> ", stdout);
    std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    if (line == "/quit" || line == "/exit") break;
    if (line == "/reset" && use_template) {
      (void)session->Truncate(0);
      history.resize(system_prompt.empty() ? 0 : 1);
      continue;
    }
    if (line == "/reset") {
      (void)session->Truncate(
          std::min<int32_t>(session->position(), static_cast<int32_t>(system_ids.size())));
      after_stop = false;
      continue;
    }
    if (line.starts_with("/save ") || line.starts_with("/load ")) {
      const std::string path = line.substr(6);
      const bool save = line[1] == 's';
      const Status st = save ? session->SaveStateToFile(path) : session->LoadStateFromFile(path);
      if (!st.ok()) {
        PrintError("chat", st.ToString());
      } else {
        std::fprintf(stderr, "%s %s (%d tokens)\n", save ? "saved" : "loaded", path.c_str(),
                     session->position());
      }
      continue;
    }
    if (use_template) {
      // The whole conversation is rendered with the model's chat template on every turn;
      // EvaluateReusingPrefix evaluates only what differs from the session's tokens.
      history.push_back({"user", line});
      ChatTemplateOptions chat_options;
      chat_options.add_generation_prompt = true;
      auto prompt = tok.ApplyChatTemplate(history, chat_options);
      if (!prompt.ok()) {
        PrintError("chat", prompt.status().ToString());
        history.pop_back();
        continue;
      }
      auto ids = tok.Encode(*prompt, {.add_bos = false, .parse_special = true});
      Status st = ids.ok() ? session->EvaluateReusingPrefix(*ids) : ids.status();
      if (!st.ok()) {
        PrintError("chat", st.ToString() + " (/reset starts over)");
        history.pop_back();
        continue;
      }
    } else {
      const bool first = session->position() == 0 && system_ids.empty();
      // After a reply that ended at the stop string, the context already holds "\nUser:".
      const std::string turn =
          (after_stop ? " " : std::string(kUserPrefix)) + line + std::string(kAssistantPrefix);
      auto ids = tok.Encode(turn, {.add_bos = first, .parse_special = false});
      if (!ids.ok()) {
        PrintError("chat", ids.status().ToString());
        continue;
      }
      // The conversation so far is the session's tokens (the last reply included); only the new
      // turn is evaluated.
      conversation = session->position() > 0 ? session->tokens() : system_ids;
      conversation.insert(conversation.end(), ids->begin(), ids->end());
      Status st = session->EvaluateReusingPrefix(conversation);
      if (!st.ok()) {
        PrintError("chat", st.ToString());
        continue;
      }
    }
    ReasoningPrinter printer(mode, color);
    generate.on_token = [&printer](int32_t, const std::string& piece) {
      printer.Write(piece);
      return true;
    };
    auto reply = session->Generate({}, generate);
    printer.Finish();
    std::fputc('\n', stdout);
    if (!reply.ok()) {
      PrintError("chat", reply.status().ToString());
      continue;
    }
    if (use_template) {
      history.push_back({"assistant", reply->text});
      continue;
    }
    after_stop = reply->stop_reason == GenerateResult::StopReason::kStopString;
    if (!after_stop) {
      // End the assistant's turn in the context.
      auto nl = tok.Encode("\n", {.add_bos = false, .parse_special = false});
      if (nl.ok() && !nl->empty()) (void)session->Evaluate(*nl);
    }
  }
  return kExitOk;
}

}  // namespace fathom::cli
