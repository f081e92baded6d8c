// Where `fathom run` / `fathom chat` find the shipped demo model when no -m is given.
#include <cstdlib>
#include <filesystem>
#include <string>

#include "common.h"

namespace fathom::cli {
namespace {

bool IsModelFolder(const std::string& dir) {
  std::error_code ec;
  return !dir.empty() &&
         std::filesystem::is_regular_file(std::filesystem::path(dir) / "config.json", ec);
}

}  // namespace

std::string DefaultModelPath() {
  if (const char* env = std::getenv("FATHOM_DEMO_MODEL"); env != nullptr && env[0] != '\0') {
    return env;
  }
#ifdef FATHOM_DEMO_MODEL_SOURCE_DIR
  if (IsModelFolder(FATHOM_DEMO_MODEL_SOURCE_DIR)) return FATHOM_DEMO_MODEL_SOURCE_DIR;
#endif
#ifdef FATHOM_DEMO_MODEL_INSTALL_DIR
  if (IsModelFolder(FATHOM_DEMO_MODEL_INSTALL_DIR)) return FATHOM_DEMO_MODEL_INSTALL_DIR;
#endif
  return "";
}

std::string ResolveModelPath(const std::string& command, const std::string& given) {
  if (!given.empty()) return given;
  std::string path = DefaultModelPath();
  if (path.empty()) {
    PrintError(command,
               "no -m/--model given and the demo model (fathom-demo-v3) was not found; set "
               "FATHOM_DEMO_MODEL or pass -m PATH");
  }
  return path;
}

}  // namespace fathom::cli
