// fathom convert: writes a Hugging Face DeepSeek V2/V3/R1 folder (F32, BF16 or FP8 with block
// scales) as a GGUF `deepseek2` file in llama.cpp's layout, keeping the MTP layer as
// blk.N.nextn.* tensors (which llama.cpp's own converter drops), optionally re-quantized.
#include <cstdio>
#include <string>

#include "commands.h"
#include "common.h"
#include "format/hf_checkpoint.h"
#include "models/deepseek/deepseek_gguf_export.h"
#include "tensor/dtype.h"

namespace fathom::cli {

int ConvertCommand(int argc, char** argv) {
  std::string input, output, type_name = "F32";
  bool no_mtp = false;
  OptionParser parser(
      "convert",
      "Converts a Hugging Face DeepSeek V2/V3/R1 folder to GGUF deepseek2 (MTP layer kept).");
  parser.AddString("-i,--input", "DIR", "Hugging Face folder (config.json + safetensors), required",
                   &input);
  parser.AddString("-o,--output", "FILE", "GGUF file to write, required", &output);
  parser.AddString("--type", "TYPE",
                   "type of the weight matrices: F32 (default), F16, BF16, Q8_0, Q4_0, Q4_1, "
                   "Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS; norms, router and "
                   "biases stay F32",
                   &type_name);
  parser.AddFlag("--no-mtp", "leave out the multi-token-prediction layers", &no_mtp);
  if (int rc = ParseCommandLine(parser, argc, argv, {"--input", "--output"}); rc >= 0) return rc;
  const std::optional<DType> type = DTypeFromName(type_name);
  if (!type) return UsageError(parser, "unknown --type '" + type_name + "'");

  auto ckpt = HfCheckpoint::Open(input);
  if (!ckpt.ok()) {
    PrintError("convert", "cannot open '" + input + "': " + std::string(ckpt.status().message()));
    return kExitFailure;
  }
  internal::ExportOptions options;
  options.weight_type = *type;
  options.include_mtp = !no_mtp;
  const absl::Status st = internal::ExportDeepSeekToGguf(**ckpt, output, options);
  if (!st.ok()) {
    PrintError("convert", "cannot convert '" + input + "': " + std::string(st.message()));
    return kExitFailure;
  }
  std::fprintf(stderr, "fathom convert: wrote %s\n", output.c_str());
  return kExitOk;
}

}  // namespace fathom::cli
