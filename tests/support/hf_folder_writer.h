// Test helpers that write Hugging Face folder files: a safetensors file from raw tensors, and a
// byte-level BPE tokenizer.json (+ tokenizer_config.json) from a GGUF-style token list.
#ifndef FATHOM_TESTS_SUPPORT_HF_FOLDER_WRITER_H_
#define FATHOM_TESTS_SUPPORT_HF_FOLDER_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

namespace fathom::testing {

struct RawTensor {
  std::string name;
  std::string dtype;  // safetensors dtype: F32, F16, BF16, ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // little-endian, row-major
};

// Writes `tensors` (in order) as a safetensors file; false on I/O failure.
bool WriteSafetensors(const std::string& path, const std::vector<RawTensor>& tensors);

// Writes dir/tokenizer.json (BPE, ByteLevel pre-tokenizer with GPT-2's regex and decoder) and
// dir/tokenizer_config.json for a vocabulary given as GGUF arrays: tokens of type 3 (CONTROL)
// become special added tokens, all others the model vocabulary; `merges` are "a b" strings.
// bos/eos < 0: none. False on I/O failure.
bool WriteByteLevelTokenizer(const std::string& dir, const std::vector<std::string>& tokens,
                             const std::vector<int64_t>& types,
                             const std::vector<std::string>& merges, int64_t bos, int64_t eos,
                             bool add_bos);

}  // namespace fathom::testing

#endif  // FATHOM_TESTS_SUPPORT_HF_FOLDER_WRITER_H_
