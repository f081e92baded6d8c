// fathom tokenize: prints the token ids of a text (space-separated, or as {"ids": [...]}), or of
// every "text" of a JSON-lines file; also the tokenizer loading shared by decode/chat-template.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"
#include "nlohmann/json.hpp"

namespace fathom::cli {

const Tokenizer* OpenTokenizer(const std::string& command, const std::string& tokenizer_path,
                               const std::string& model_path, OpenedTokenizer* holder) {
  if (!tokenizer_path.empty()) {
    Result<std::unique_ptr<Tokenizer>> t = Tokenizer::Load(tokenizer_path);
    if (!t.ok()) {
      PrintError(command, "cannot load tokenizer " + tokenizer_path + ": " + t.status().message());
      return nullptr;
    }
    holder->own = std::move(t).value();
    return holder->own.get();
  }
  holder->model = LoadModel(command, model_path);
  return holder->model ? &holder->model->tokenizer() : nullptr;
}

namespace {

std::string IdsJson(const std::vector<int32_t>& ids) { return nlohmann::json{{"ids", ids}}.dump(); }

// One {"ids": [...]} line per JSON object with a "text" field.
int TokenizeJsonl(const Tokenizer& tokenizer, const std::string& path,
                  const Tokenizer::EncodeOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    PrintError("tokenize", "cannot open " + path);
    return kExitFailure;
  }
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("text") || !j["text"].is_string()) {
      PrintError("tokenize", path + ":" + std::to_string(line_no) +
                                 ": expected a JSON object with a string \"text\"");
      return kExitFailure;
    }
    Result<std::vector<int32_t>> ids = tokenizer.Encode(j["text"].get<std::string>(), options);
    if (!ids.ok()) {
      PrintError("tokenize", path + ":" + std::to_string(line_no) +
                                 ": cannot tokenize: " + ids.status().message());
      return kExitFailure;
    }
    std::printf("%s\n", IdsJson(*ids).c_str());
  }
  return kExitOk;
}

}  // namespace

int TokenizeCommand(int argc, char** argv) {
  std::string model_path, tokenizer_path, text, jsonl;
  bool no_bos = false, add_special = false, parse_special = false, no_parse_special = false,
       json = false;

  OptionParser parser("tokenize", "Prints the token ids of a text.");
  parser.AddString("-m,--model", "PATH", "model: a GGUF file or a Hugging Face folder",
                   &model_path);
  parser.AddString("--tokenizer", "PATH",
                   "a tokenizer alone: tokenizer.json, tokenizer.model, a GGUF file or a Hugging "
                   "Face folder (instead of -m)",
                   &tokenizer_path);
  parser.AddString("-p,--prompt", "TEXT", "the text (may be empty)", &text);
  parser.AddString("--jsonl", "FILE",
                   "tokenize the \"text\" of every JSON line of FILE, printing {\"ids\":[...]} "
                   "per line",
                   &jsonl);
  parser.AddFlag("--no-bos", "do not prepend BOS (default for --jsonl)", &no_bos);
  parser.AddFlag("--add-special", "add BOS/special tokens as the tokenizer asks (default for -p)",
                 &add_special);
  parser.AddFlag("--parse-special",
                 "recognise special-token text such as </s> (default for --jsonl)", &parse_special);
  parser.AddFlag("--no-parse-special", "treat special-token text as plain text", &no_parse_special);
  parser.AddFlag("--json", "print {\"ids\": [...]}", &json);
  if (int rc = ParseCommandLine(parser, argc, argv, {}); rc >= 0) return rc;
  if (model_path.empty() == tokenizer_path.empty()) {
    return UsageError(parser, "give exactly one of -m/--model and --tokenizer");
  }
  if (jsonl.empty() == !parser.Given("--prompt")) {
    return UsageError(parser, "give exactly one of -p/--prompt and --jsonl");
  }
  if (add_special && no_bos) return UsageError(parser, "--add-special and --no-bos conflict");
  if (parse_special && no_parse_special) {
    return UsageError(parser, "--parse-special and --no-parse-special conflict");
  }

  OpenedTokenizer holder;
  const Tokenizer* tokenizer = OpenTokenizer("tokenize", tokenizer_path, model_path, &holder);
  if (tokenizer == nullptr) return kExitFailure;
  Tokenizer::EncodeOptions options;
  if (!jsonl.empty()) {
    options.add_bos = add_special;
    options.parse_special = !no_parse_special;
    return TokenizeJsonl(*tokenizer, jsonl, options);
  }
  options.add_bos = !no_bos;
  options.parse_special = parse_special;
  Result<std::vector<int32_t>> ids = tokenizer->Encode(text, options);
  if (!ids.ok()) {
    PrintError("tokenize", "cannot tokenize: " + ids.status().message());
    return kExitFailure;
  }
  if (json) {
    std::printf("%s\n", IdsJson(*ids).c_str());
  } else {
    std::string line;
    for (int32_t id : *ids) {
      if (!line.empty()) line += ' ';
      line += std::to_string(id);
    }
    std::printf("%s\n", line.c_str());
  }
  return kExitOk;
}

}  // namespace fathom::cli
