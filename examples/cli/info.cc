// fathom info: prints a model's metadata (ModelInfo and the special tokens).
#include <cstdio>
#include <string>

#include "commands.h"
#include "common.h"
#include "nlohmann/json.hpp"

namespace fathom::cli {

int InfoCommand(int argc, char** argv) {
  std::string model_path;
  bool json = false;
  OptionParser parser("info", "Prints a model's metadata.");
  parser.AddString("-m,--model", "PATH", "model: a GGUF file or a Hugging Face folder, required", &model_path);
  parser.AddFlag("--json", "print one JSON object", &json);
  if (int rc = ParseCommandLine(parser, argc, argv, {"--model"}); rc >= 0) return rc;

  std::shared_ptr<const Model> model = LoadModel("info", model_path);
  if (!model) return kExitFailure;
  const ModelInfo& info = model->info();
  const Tokenizer& tokenizer = model->tokenizer();
  const nlohmann::ordered_json out = {
      {"architecture", info.architecture},
      {"name", info.name},
      {"n_params", info.n_params},
      {"n_vocab", info.n_vocab},
      {"n_ctx_train", info.n_ctx_train},
      {"n_embd", info.n_embd},
      {"n_layer", info.n_layer},
      {"n_head", info.n_head},
      {"n_head_kv", info.n_head_kv},
      {"kv_bytes_per_token", info.kv_bytes_per_token},
      {"bos", tokenizer.bos()},
      {"eos", tokenizer.eos()},
  };
  if (json) {
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    for (const auto& [key, value] : out.items()) {
      const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
      std::printf("%-20s %s\n", key.c_str(), text.c_str());
    }
  }
  return kExitOk;
}

}  // namespace fathom::cli
