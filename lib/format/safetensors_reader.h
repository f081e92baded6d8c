// Validating safetensors reader over a memory-mapped file; tensors are zero-copy views.
#ifndef FATHOM_LIB_FORMAT_SAFETENSORS_READER_H_
#define FATHOM_LIB_FORMAT_SAFETENSORS_READER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "format/mapped_file.h"
#include "tensor/dtype.h"

namespace fathom {

struct SafetensorsTensor {
  std::string name;
  std::string dtype_name;      // as in the file: "F32", "BF16", "F16", "F8_E4M3", "I32", ...
  DType type = DType::kF32;    // F32, F16, BF16, F8_E4M3, I8, I16, I32, I64, F64
  std::vector<int64_t> shape;  // row-major, outermost first (a Linear weight is [out, in])
  int64_t n_elements = 0;
  uint64_t n_bytes = 0;
  const uint8_t* data = nullptr;  // inside the mapping
};

class SafetensorsFile {
 public:
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Parse(std::shared_ptr<MappedFile> file);

  // Sorted by data offset (then name): JSON objects do not keep the header's key order.
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const SafetensorsTensor* Find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::shared_ptr<MappedFile>& file() const { return file_; }

 private:
  SafetensorsFile() = default;
  std::shared_ptr<MappedFile> file_;
  std::vector<SafetensorsTensor> tensors_;
  absl::flat_hash_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Checks that `text` is exactly one well-formed JSON value (valid UTF-8, only whitespace after it),
// nested at most `max_depth` arrays/objects deep and, when `reject_duplicate_keys`, with no key
// twice in one object. Runs before building a DOM, so hostile input cannot exhaust the stack or
// hide a duplicate key (a DOM keeps only one). The message says what is wrong and where.
absl::Status CheckJsonText(std::string_view text, int max_depth, bool reject_duplicate_keys);

}  // namespace fathom

#endif  // FATHOM_LIB_FORMAT_SAFETENSORS_READER_H_
