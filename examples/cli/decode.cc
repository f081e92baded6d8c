// fathom decode: prints the text of token ids exactly as the tokenizer decodes it (no newline
// added).
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"

namespace fathom::cli {

int DecodeCommand(int argc, char** argv) {
  std::string model_path, tokenizer_path;
  std::vector<int32_t> ids;
  bool skip_special = false;

  OptionParser parser("decode", "Prints the text of token ids (no trailing newline).");
  parser.AddString("-m,--model", "PATH", "model: a GGUF file or a Hugging Face folder",
                   &model_path);
  parser.AddString("--tokenizer", "PATH",
                   "a tokenizer alone: tokenizer.json, tokenizer.model, a GGUF file or a Hugging "
                   "Face folder (instead of -m)",
                   &tokenizer_path);
  parser.AddIds("--ids", "1,2,3", "the token ids, required", &ids);
  parser.AddFlag("--skip-special", "leave out special tokens", &skip_special);
  if (int rc = ParseCommandLine(parser, argc, argv, {"--ids"}); rc >= 0) return rc;
  if (model_path.empty() == tokenizer_path.empty()) {
    return UsageError(parser, "give exactly one of -m/--model and --tokenizer");
  }
  OpenedTokenizer holder;
  const Tokenizer* tokenizer = OpenTokenizer("decode", tokenizer_path, model_path, &holder);
  if (tokenizer == nullptr) return kExitFailure;
  Result<std::string> text = tokenizer->Decode(ids, skip_special);
  if (!text.ok()) {
    PrintError("decode", "cannot decode: " + text.status().message());
    return kExitFailure;
  }
  std::fwrite(text->data(), 1, text->size(), stdout);
  return kExitOk;
}

}  // namespace fathom::cli
