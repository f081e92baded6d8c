// Helpers shared by the fathom CLI's subcommands (see common.h).
#include "common.h"

#include <cstdio>
#include <utility>

namespace fathom::cli {

void PrintError(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "fathom %s: %s\n", command.c_str(), message.c_str());
}

int UsageError(const OptionParser& parser, const std::string& message) {
  PrintError(parser.command(), message);
  std::fprintf(stderr, "Run 'fathom %s --help' for its options.\n", parser.command().c_str());
  return kExitUsage;
}

int ParseCommandLine(OptionParser& parser, int argc, char** argv,
                     const std::vector<std::string>& required) {
  std::string error;
  if (!parser.Parse(argc, argv, &error)) return UsageError(parser, error);
  if (parser.help_requested()) {
    std::fputs(parser.Usage().c_str(), stdout);
    return kExitOk;
  }
  for (const std::string& name : required) {
    if (!parser.Given(name)) return UsageError(parser, "missing required option " + name);
  }
  return -1;
}

std::shared_ptr<const Model> LoadModel(const std::string& command, const std::string& path) {
  Result<std::shared_ptr<const Model>> model = Model::Load(path);
  if (!model.ok()) {
    PrintError(command, "cannot load model '" + path + "': " + model.status().message());
    return nullptr;
  }
  return std::move(model).value();
}

std::unique_ptr<Session> CreateSession(const std::string& command,
                                       std::shared_ptr<const Model> model,
                                       const SessionOptions& options) {
  Result<std::unique_ptr<Session>> session = Session::Create(std::move(model), options);
  if (!session.ok()) {
    PrintError(command, "cannot create a session: " + session.status().message());
    return nullptr;
  }
  return std::move(session).value();
}

}  // namespace fathom::cli
