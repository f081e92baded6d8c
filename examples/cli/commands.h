// The fathom CLI's subcommands; each takes the arguments after its name and returns the exit code.
#ifndef FATHOM_EXAMPLES_CLI_COMMANDS_H_
#define FATHOM_EXAMPLES_CLI_COMMANDS_H_

#include <memory>
#include <string>

#include "fathom/fathom.h"

namespace fathom::cli {

int RunCommand(int argc, char** argv);           // fathom run: generate text
int EvalCommand(int argc, char** argv);          // fathom eval: write the logits of token ids
int TokenizeCommand(int argc, char** argv);      // fathom tokenize: text -> ids
int InfoCommand(int argc, char** argv);          // fathom info: model metadata
int ChatCommand(int argc, char** argv);          // fathom chat: interactive conversation
int DecodeCommand(int argc, char** argv);        // fathom decode: ids -> text
int ChatTemplateCommand(int argc, char** argv);  // fathom chat-template: render a prompt
int ConvertCommand(int argc, char** argv);       // fathom convert: HF folder -> GGUF
int MakeModelCommand(int argc, char** argv);     // fathom make-model: random-weight GGUF
int QuantizeCommand(int argc, char** argv);      // fathom quantize: GGUF -> quantized GGUF
int BenchCommand(int argc, char** argv);         // fathom bench: pp/tg tokens/s, vs llama.cpp

// A tokenizer opened from --tokenizer PATH (owned) or from a model's -m PATH (kept alive).
struct OpenedTokenizer {
  std::shared_ptr<const Model> model;
  std::unique_ptr<Tokenizer> own;
};
// Opens `tokenizer_path` if set, else the model at `model_path`; prints the reason and returns
// nullptr on failure.
const Tokenizer* OpenTokenizer(const std::string& command, const std::string& tokenizer_path,
                               const std::string& model_path, OpenedTokenizer* holder);

}  // namespace fathom::cli

#endif  // FATHOM_EXAMPLES_CLI_COMMANDS_H_
