// fathom quantize IN OUT TYPE: converts an F32/F16/BF16 GGUF to a quantized file type with
// llama-quantize's per-tensor type rules and ggml's reference quantizers
// (lib/format/gguf_quantize).
#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "common.h"
#include "format/gguf_quantize.h"

namespace fathom::cli {

int QuantizeCommand(int argc, char** argv) {
  constexpr char kCommand[] = "quantize";
  bool pure = false, quiet = false;
  int32_t threads = 0;
  OptionParser parser(
      kCommand,
      "usage: fathom quantize [options] IN.gguf OUT.gguf TYPE\n"
      "Converts F32/F16/BF16 weights as llama-quantize does (same tensor types, same\n"
      "bytes). TYPE: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_S/M/L,\n"
      "Q4_K_S/M, Q5_K_S/M, Q6_K; Q3_K, Q4_K, Q5_K mean the _M mixes (llama-quantize's\n"
      "aliases); --pure gives every 2-D weight the base type.");
  parser.AddFlag("--pure", "no mix: every quantizable tensor gets TYPE's base type", &pure);
  parser.AddInt32("-t,--threads", "N", "threads (default: all)", &threads);
  parser.AddFlag("-q,--quiet", "do not list the tensors", &quiet);
  // The three positional arguments are taken out before the options are parsed.
  std::vector<std::string> positional;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.size() > 1 && a[0] == '-') {
      rest.push_back(argv[i]);
      if ((a == "-t" || a == "--threads") && i + 1 < argc) rest.push_back(argv[++i]);
    } else {
      positional.push_back(a);
    }
  }
  if (int rc = ParseCommandLine(parser, static_cast<int>(rest.size()), rest.data(), {}); rc >= 0) {
    return rc;
  }
  if (positional.size() != 3) {
    return UsageError(
        parser, "expected IN OUT TYPE, got " + std::to_string(positional.size()) + " arguments");
  }
  const std::optional<QuantFtype> ftype = QuantFtypeFromName(positional[2]);
  if (!ftype.has_value()) return UsageError(parser, "unknown type '" + positional[2] + "'");
  if (threads < 0) return UsageError(parser, "-t must be >= 0");
  QuantizeOptions options;
  options.ftype = *ftype;
  options.pure = pure;
  options.threads =
      threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (!quiet) {
    options.on_tensor = [](const std::string& name, DType from, DType to) {
      std::fprintf(stderr, "%-40s %6s -> %s\n", name.c_str(),
                   std::string(Traits(from).name).c_str(), std::string(Traits(to).name).c_str());
    };
  }
  if (absl::Status s = QuantizeGgufFile(positional[0], positional[1], options); !s.ok()) {
    PrintError(kCommand, std::string(s.message()));
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace fathom::cli
