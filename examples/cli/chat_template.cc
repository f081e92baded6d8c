// fathom chat-template: renders a tokenizer's chat template for a conversation and prints the
// prompt exactly (no newline added).
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"

namespace fathom::cli {
namespace {

bool ReadWholeFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

int ChatTemplateCommand(int argc, char** argv) {
  std::string model_path, tokenizer_path, messages_path, template_path, unused_var;
  bool add_generation_prompt = false;

  OptionParser parser("chat-template",
                      "Renders the chat template for a conversation (no trailing newline).");
  parser.AddString("-m,--model", "PATH", "model: a GGUF file or a Hugging Face folder",
                   &model_path);
  parser.AddString("--tokenizer", "PATH",
                   "a tokenizer alone: a Hugging Face folder (tokenizer.json + "
                   "tokenizer_config.json) or a GGUF file (instead of -m)",
                   &tokenizer_path);
  parser.AddString("--messages", "FILE",
                   "JSON array of messages ({\"role\": ..., \"content\": ...}), required",
                   &messages_path);
  parser.AddString("--template", "FILE",
                   "use this Jinja2 template instead of the tokenizer's (then -m/--tokenizer are "
                   "optional and only give bos_token/eos_token)",
                   &template_path);
  parser.AddFlag("--add-generation-prompt", "end with the assistant turn opener",
                 &add_generation_prompt);
  parser.AddString("--var", "NAME=JSON",
                   "extra template variable, e.g. enable_thinking=false (repeatable)", &unused_var);

  // --var may repeat: collect every one before the parser sees the rest.
  std::map<std::string, std::string> vars;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    std::string value;
    if (std::strcmp(argv[i], "--var") == 0 && i + 1 < argc) {
      value = argv[++i];
    } else if (std::strncmp(argv[i], "--var=", 6) == 0) {
      value = argv[i] + 6;
    } else {
      rest.push_back(argv[i]);
      continue;
    }
    const size_t eq = value.find('=');
    if (eq == std::string::npos || eq == 0) {
      return UsageError(parser, "--var expects NAME=JSON_VALUE, got '" + value + "'");
    }
    vars[value.substr(0, eq)] = value.substr(eq + 1);
  }
  if (int rc = ParseCommandLine(parser, static_cast<int>(rest.size()), rest.data(), {"--messages"});
      rc >= 0) {
    return rc;
  }
  if (!model_path.empty() && !tokenizer_path.empty()) {
    return UsageError(parser, "give only one of -m/--model and --tokenizer");
  }
  if (model_path.empty() && tokenizer_path.empty() && template_path.empty()) {
    return UsageError(parser, "give -m/--model, --tokenizer or --template");
  }

  ChatTemplateOptions options;
  options.add_generation_prompt = add_generation_prompt;
  options.variables_json = vars;
  if (!ReadWholeFile(messages_path, &options.messages_json)) {
    PrintError("chat-template", "cannot read " + messages_path);
    return kExitFailure;
  }
  OpenedTokenizer holder;
  const Tokenizer* tokenizer = nullptr;
  if (!model_path.empty() || !tokenizer_path.empty()) {
    tokenizer = OpenTokenizer("chat-template", tokenizer_path, model_path, &holder);
    if (tokenizer == nullptr) return kExitFailure;
  }
  Result<std::string> prompt = std::string();
  if (!template_path.empty()) {
    std::string tpl;
    if (!ReadWholeFile(template_path, &tpl)) {
      PrintError("chat-template", "cannot read " + template_path);
      return kExitFailure;
    }
    if (tokenizer != nullptr) {
      options.bos_token = tokenizer->TokenText(tokenizer->bos());
      options.eos_token = tokenizer->TokenText(tokenizer->eos());
    }
    prompt = Tokenizer::RenderChatTemplate(tpl, {}, options);
  } else {
    prompt = tokenizer->ApplyChatTemplate({}, options);
  }
  if (!prompt.ok()) {
    PrintError("chat-template", prompt.status().message());
    return kExitFailure;
  }
  std::fwrite(prompt->data(), 1, prompt->size(), stdout);
  return kExitOk;
}

}  // namespace fathom::cli
