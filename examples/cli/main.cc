// The fathom command-line program: dispatches to a subcommand (run, chat, eval, tokenize, decode,
// chat-template, info, convert, make-model, quantize, bench).
#include <cstdio>
#include <cstring>
#include <string_view>

#include "args.h"
#include "commands.h"
#include "fathom/fathom.h"

namespace fathom::cli {
namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*main)(int argc, char** argv);
};

constexpr Command kCommands[] = {
    {"run", "generate text from a prompt (streamed, or as JSON)", RunCommand},
    {"chat", "talk with a model interactively", ChatCommand},
    {"eval", "evaluate token ids in one pass and write every position's logits", EvalCommand},
    {"tokenize", "print the token ids of a text", TokenizeCommand},
    {"decode", "print the text of token ids", DecodeCommand},
    {"chat-template", "render a conversation with the chat template", ChatTemplateCommand},
    {"info", "print a model's metadata", InfoCommand},
    {"convert", "convert a Hugging Face DeepSeek folder to GGUF (MTP layer kept)", ConvertCommand},
    {"make-model", "write a random-weight GGUF with a real model's shapes", MakeModelCommand},
    {"quantize", "convert a GGUF to a quantized type as llama-quantize does", QuantizeCommand},
    {"bench", "measure prompt and generation tokens/s (side by side with llama-bench)",
     BenchCommand},
};

void PrintUsage(std::FILE* out) {
  std::fputs("usage: fathom <command> [options]\n\ncommands:\n", out);
  for (const Command& c : kCommands) std::fprintf(out, "  %-13s %s\n", c.name, c.summary);
  std::fputs(
      "\nRun 'fathom <command> --help' for a command's options; 'fathom --version' for the "
      "version.\n",
      out);
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return kExitUsage;
  }
  const std::string_view name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    PrintUsage(stdout);
    return kExitOk;
  }
  if (name == "--version") {
    std::printf("%s\n", VersionString());
    return kExitOk;
  }
  for (const Command& c : kCommands) {
    if (name == c.name) return c.main(argc - 2, argv + 2);
  }
  std::fprintf(stderr, "fathom: unknown command '%s'\n\n", argv[1]);
  PrintUsage(stderr);
  return kExitUsage;
}

}  // namespace
}  // namespace fathom::cli

int main(int argc, char** argv) { return fathom::cli::Main(argc, argv); }
