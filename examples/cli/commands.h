// The fathom CLI's subcommands; each takes the arguments after its name and returns the exit code.
#ifndef FATHOM_EXAMPLES_CLI_COMMANDS_H_
#define FATHOM_EXAMPLES_CLI_COMMANDS_H_

namespace fathom::cli {

int RunCommand(int argc, char** argv);       // fathom run: generate text
int EvalCommand(int argc, char** argv);      // fathom eval: write the logits of token ids
int TokenizeCommand(int argc, char** argv);  // fathom tokenize: text -> ids
int InfoCommand(int argc, char** argv);      // fathom info: model metadata

}  // namespace fathom::cli

#endif  // FATHOM_EXAMPLES_CLI_COMMANDS_H_
