// Validating GGUF (v2, v3) reader over a memory-mapped file; tensors are zero-copy views.
#ifndef FATHOM_LIB_FORMAT_GGUF_READER_H_
#define FATHOM_LIB_FORMAT_GGUF_READER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "format/gguf.h"
#include "format/mapped_file.h"

namespace fathom {

// A tensor inside a mapped file: metadata plus a pointer to its bytes (valid while the
// GgufFile, or any copy of `file`, is alive).
struct TensorView {
  std::string name;
  DType type = DType::kF32;
  std::vector<int64_t> dims;  // ggml order
  int64_t n_elements = 0;
  uint64_t n_bytes = 0;
  const uint8_t* data = nullptr;
  std::shared_ptr<MappedFile> file;  // keeps the mapping alive
};

class GgufFile {
 public:
  // Opens, maps and fully validates a GGUF file. Errors name what is wrong and where
  // (byte offset, key or tensor name).
  static absl::StatusOr<std::unique_ptr<GgufFile>> Open(const std::string& path,
                                                        MapMode mode = MapMode::kMap);
  // Same over an already mapped file or buffer.
  static absl::StatusOr<std::unique_ptr<GgufFile>> Parse(std::shared_ptr<MappedFile> file);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute start of tensor data
  const std::vector<GgufKeyValue>& metadata() const { return kvs_; }
  const std::vector<GgufTensorInfo>& tensor_infos() const { return tensors_; }

  const GgufValue* Find(std::string_view key) const;
  // Typed getters: NotFound if absent, InvalidArgument (naming the key) on a type mismatch.
  // Integer getters accept any integer GGUF type whose value fits.
  absl::StatusOr<std::string> GetString(std::string_view key) const;
  absl::StatusOr<int64_t> GetInt(std::string_view key) const;
  absl::StatusOr<uint64_t> GetUint(std::string_view key) const;
  absl::StatusOr<double> GetFloat(std::string_view key) const;  // float32/float64 (and ints)
  absl::StatusOr<bool> GetBool(std::string_view key) const;
  absl::StatusOr<std::vector<std::string>> GetStringArray(std::string_view key) const;
  absl::StatusOr<std::vector<double>> GetFloatArray(std::string_view key) const;
  absl::StatusOr<std::vector<int64_t>> GetIntArray(std::string_view key) const;

  // Tensor lookup; NotFound names the tensor.
  absl::StatusOr<TensorView> GetTensor(std::string_view name) const;
  bool HasTensor(std::string_view name) const;

  const std::shared_ptr<MappedFile>& file() const { return file_; }

 private:
  GgufFile() = default;
  std::shared_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<GgufKeyValue> kvs_;
  std::vector<GgufTensorInfo> tensors_;
  absl::flat_hash_map<std::string, size_t> kv_index_;
  absl::flat_hash_map<std::string, size_t> tensor_index_;
};

}  // namespace fathom

#endif  // FATHOM_LIB_FORMAT_GGUF_READER_H_
