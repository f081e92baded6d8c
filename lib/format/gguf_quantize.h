// GGUF quantization: llama.cpp's file types (llama_ftype), its per-tensor type selection
// (llama_tensor_get_type in src/llama-quant.cpp) and a streaming GGUF -> GGUF converter.
#ifndef FATHOM_LIB_FORMAT_GGUF_QUANTIZE_H_
#define FATHOM_LIB_FORMAT_GGUF_QUANTIZE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "format/gguf_writer.h"
#include "tensor/dtype.h"

namespace fathom {

// llama.cpp's llama_ftype numbers (stored as general.file_type).
enum class QuantFtype : uint32_t {
  kAllF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ8_0 = 7,
  kQ5_0 = 8,
  kQ5_1 = 9,
  kQ2_K = 10,
  kQ3_K_S = 11,
  kQ3_K_M = 12,
  kQ3_K_L = 13,
  kQ4_K_S = 14,
  kQ4_K_M = 15,
  kQ5_K_S = 16,
  kQ5_K_M = 17,
  kQ6_K = 18,
  kBF16 = 32,
};

// Parses a llama-quantize type name: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K,
// Q3_K_S/M/L, Q4_K_S/M, Q5_K_S/M, Q6_K, and llama-quantize's aliases Q3_K (= Q3_K_M),
// Q4_K (= Q4_K_M) and Q5_K (= Q5_K_M). Case-insensitive.
std::optional<QuantFtype> QuantFtypeFromName(std::string_view name);
std::string_view QuantFtypeName(QuantFtype f);
// The type most tensors get (llama_model_quantize_impl's default_type).
DType QuantFtypeDefaultType(QuantFtype f);

// What the type rules need to know about the model.
struct QuantModelInfo {
  std::string arch;      // general.architecture
  int64_t n_layer = 0;   // <arch>.block_count
  int64_t n_expert = 0;  // <arch>.expert_count (0 for dense models)
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  bool has_output = false;     // an output.weight tensor exists (else token_embd is the classifier)
  int64_t n_attention_wv = 0;  // tensors named *attn_v.weight, *attn_qkv.weight, *attn_kv_b.weight
};

// The type of every tensor of a model, decided in file order as llama-quantize does (the rules
// count attn_v / ffn_down tensors as they go, so call Choose once per tensor, in order).
class QuantTypeChooser {
 public:
  QuantTypeChooser(QuantFtype ftype, const QuantModelInfo& model, bool pure = false);
  // The type tensor `name` (ggml dims, current type `type`) gets. Tensors llama-quantize does not
  // quantize (1-D, norms, ffn_gate_inp, names not ending in "weight") keep their type.
  absl::StatusOr<DType> Choose(const std::string& name, const std::vector<int64_t>& dims,
                               DType type);

 private:
  DType RuleType(const std::string& name, const std::vector<int64_t>& dims, DType new_type);
  QuantFtype ftype_;
  QuantModelInfo model_;
  bool pure_;
  int64_t i_attention_wv_ = 0;
  int64_t i_ffn_down_ = 0;
  int64_t i_ffn_gate_ = 0;
  int64_t i_ffn_up_ = 0;
};

// Fills `n_rows` rows (of the tensor's row length) starting at `first_row` as float32. Called
// concurrently from several threads on disjoint row ranges.
using RowFiller = std::function<absl::Status(int64_t first_row, int64_t n_rows, float* out)>;

// Streams `rows` rows of `cols` values, produced by `fill`, converted to `type` (F32, F16, BF16
// or any type lib/tensor can quantize) to `emit`, using `threads` threads, in row order.
absl::Status EmitConvertedRows(DType type, int64_t rows, int64_t cols, const RowFiller& fill,
                               int threads, const GgufWriter::ByteEmitter& emit);

struct QuantizeOptions {
  QuantFtype ftype = QuantFtype::kQ4_K_M;
  bool pure = false;  // every quantizable tensor gets the default type (llama-quantize --pure)
  int threads = 1;
  // Called after each tensor's type is decided (for progress output); may be empty.
  std::function<void(const std::string& name, DType from, DType to)> on_tensor;
};

// Reads the GGUF file `in_path` (F32 / F16 / BF16 weights; tensors already in their target type
// are copied) and writes `out_path` with every tensor converted as llama-quantize would, all
// metadata kept, general.file_type and general.quantization_version updated.
absl::Status QuantizeGgufFile(const std::string& in_path, const std::string& out_path,
                              const QuantizeOptions& options);

}  // namespace fathom

#endif  // FATHOM_LIB_FORMAT_GGUF_QUANTIZE_H_
