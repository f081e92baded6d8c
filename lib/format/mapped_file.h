// A read-only memory-mapped file (the whole file, mapped once, shared by every view into it).
#ifndef FATHOM_LIB_FORMAT_MAPPED_FILE_H_
#define FATHOM_LIB_FORMAT_MAPPED_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace fathom {

class MappedFile {
 public:
  // Maps `path` read-only. An empty file maps to size 0 with a null data pointer.
  static absl::StatusOr<std::shared_ptr<MappedFile>> Open(const std::string& path);
  // Wraps a caller-owned buffer (tests, fuzzing, load-from-memory); the buffer must outlive this.
  static std::shared_ptr<MappedFile> FromBuffer(const void* data, uint64_t size);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  bool owns_mapping_ = false;
  std::string path_;
};

}  // namespace fathom

#endif  // FATHOM_LIB_FORMAT_MAPPED_FILE_H_
