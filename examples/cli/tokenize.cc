// fathom tokenize: prints the token ids of a text (space-separated, or as {"ids": [...]}).
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"
#include "nlohmann/json.hpp"

namespace fathom::cli {

int TokenizeCommand(int argc, char** argv) {
  std::string model_path, text;
  bool no_bos = false, parse_special = false, json = false;

  OptionParser parser("tokenize", "Prints the token ids of a text.");
  parser.AddString("-m,--model", "PATH", "model: a GGUF file or a Hugging Face folder, required", &model_path);
  parser.AddString("-p,--prompt", "TEXT", "the text, required (may be empty)", &text);
  parser.AddFlag("--no-bos", "do not prepend BOS", &no_bos);
  parser.AddFlag("--parse-special", "recognise special-token text such as </s>", &parse_special);
  parser.AddFlag("--json", "print {\"ids\": [...]}", &json);
  if (int rc = ParseCommandLine(parser, argc, argv, {"--model", "--prompt"}); rc >= 0) return rc;

  std::shared_ptr<const Model> model = LoadModel("tokenize", model_path);
  if (!model) return kExitFailure;
  Tokenizer::EncodeOptions options;
  options.add_bos = !no_bos;
  options.parse_special = parse_special;
  Result<std::vector<int32_t>> ids = model->tokenizer().Encode(text, options);
  if (!ids.ok()) {
    PrintError("tokenize", "cannot tokenize: " + ids.status().message());
    return kExitFailure;
  }
  if (json) {
    std::printf("%s\n", nlohmann::json{{"ids", *ids}}.dump().c_str());
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
