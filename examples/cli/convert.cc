// fathom convert: writes a Hugging Face folder as GGUF in llama.cpp's layout, optionally
// re-quantized: DeepSeek V2/V3/R1 (F32, BF16 or FP8 with block scales) as `deepseek2`, keeping
// the MTP layer as blk.N.nextn.* tensors (which llama.cpp's own converter drops); Llama and
// Qwen2 (F32/F16/BF16) as `llama` / `qwen2`. The tokenizer.json goes along as GGUF metadata.
#include <cstdio>
#include <string>

#include "commands.h"
#include "common.h"
#include "format/hf_checkpoint.h"
#include "models/deepseek/deepseek_gguf_export.h"
#include "models/llama/llama_gguf_export.h"
#include "tensor/dtype.h"

namespace fathom::cli {

int ConvertCommand(int argc, char** argv) {
  std::string input, output, type_name = "F32";
  bool no_mtp = false;
  OptionParser parser(
      "convert",
      "Converts a Hugging Face folder to GGUF: DeepSeek V2/V3/R1 to deepseek2 (MTP layer kept), "
      "Llama to llama, Qwen2 to qwen2. A byte-level BPE tokenizer.json is converted with it.");
  parser.AddString("-i,--input", "DIR", "Hugging Face folder (config.json + safetensors), required",
                   &input);
  parser.AddString("-o,--output", "FILE", "GGUF file to write, required", &output);
  parser.AddString("--type", "TYPE",
                   "type of the weight matrices: F32 (default), F16, BF16, Q8_0, Q4_0, Q4_1, "
                   "Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS; norms, router and "
                   "biases stay F32; rows that are not whole blocks fall back to F16",
                   &type_name);
  parser.AddFlag("--no-mtp", "leave out the multi-token-prediction layers (DeepSeek)", &no_mtp);
  if (int rc = ParseCommandLine(parser, argc, argv, {"--input", "--output"}); rc >= 0) return rc;
  const std::optional<DType> type = DTypeFromName(type_name);
  if (!type) return UsageError(parser, "unknown --type '" + type_name + "'");

  auto ckpt = HfCheckpoint::Open(input);
  if (!ckpt.ok()) {
    PrintError("convert", "cannot open '" + input + "': " + std::string(ckpt.status().message()));
    return kExitFailure;
  }
  absl::Status st;
  const nlohmann::json& config = (*ckpt)->config();
  const bool deepseek = config.contains("model_type") && config["model_type"].is_string() &&
                        config["model_type"].get<std::string>().rfind("deepseek", 0) == 0;
  if (!deepseek || internal::IsLlamaFamilyHfConfig(**ckpt)) {
    // Also the path for unknown architectures: its error lists the supported ones.
    st = internal::ExportLlamaToGguf(**ckpt, output, *type);
  } else {
    internal::ExportOptions options;
    options.weight_type = *type;
    options.include_mtp = !no_mtp;
    st = internal::ExportDeepSeekToGguf(**ckpt, output, options);
  }
  if (!st.ok()) {
    PrintError("convert", "cannot convert '" + input + "': " + std::string(st.message()));
    return kExitFailure;
  }
  std::fprintf(stderr, "fathom convert: wrote %s\n", output.c_str());
  return kExitOk;
}

}  // namespace fathom::cli
