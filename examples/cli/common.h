// Helpers shared by the fathom CLI's subcommands: error reporting, model and session set-up.
#ifndef FATHOM_EXAMPLES_CLI_COMMON_H_
#define FATHOM_EXAMPLES_CLI_COMMON_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "fathom/fathom.h"

namespace fathom::cli {

// Prints "fathom <command>: <message>" to stderr.
void PrintError(const std::string& command, const std::string& message);
// Reports a command-line error with a pointer to --help; returns kExitUsage.
int UsageError(const OptionParser& parser, const std::string& message);

// Parses a subcommand's arguments. Returns -1 when the command should go on, otherwise the exit
// code to return (help printed: kExitOk; bad arguments: kExitUsage). Checks that every option in
// `required` was given.
int ParseCommandLine(OptionParser& parser, int argc, char** argv,
                     const std::vector<std::string>& required);

// The shipped demo model (docs/DEMO_MODEL.md): $FATHOM_DEMO_MODEL when set, else the source
// tree's examples/demo_model/fathom-demo-v3 when it is there, else the installed copy
// (<datadir>/fathom/fathom-demo-v3); "" if none is found.
std::string DefaultModelPath();
// `given` when not empty, else DefaultModelPath(); prints an error and returns "" if neither.
std::string ResolveModelPath(const std::string& command, const std::string& given);

// Loads a model, printing the reason to stderr on failure (then returns nullptr).
std::shared_ptr<const Model> LoadModel(const std::string& command, const std::string& path);
std::unique_ptr<Session> CreateSession(const std::string& command,
                                       std::shared_ptr<const Model> model,
                                       const SessionOptions& options);

}  // namespace fathom::cli

#endif  // FATHOM_EXAMPLES_CLI_COMMON_H_
