// A read-only memory-mapped file (the whole file, mapped once, shared by every view into it), or
// the file's bytes copied into private memory backed by transparent huge pages.
#ifndef FATHOM_LIB_FORMAT_MAPPED_FILE_H_
#define FATHOM_LIB_FORMAT_MAPPED_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace fathom {

// How a file's bytes are made available.
enum class MapMode {
  // mmap of the file: pages shared with the page cache and other processes, loaded on first use.
  kMap,
  // Read into private anonymous memory with madvise(MADV_HUGEPAGE): 2 MiB pages when the kernel
  // has transparent huge pages, so streaming the weights misses the TLB far less (decode reads
  // every weight once per token); costs the file's size in private memory.
  kHugePageCopy,
};

class MappedFile {
 public:
  // Maps (or copies, see MapMode) `path` read-only. An empty file gives size 0 and a null data
  // pointer.
  static absl::StatusOr<std::shared_ptr<MappedFile>> Open(const std::string& path,
                                                          MapMode mode = MapMode::kMap);
  // Wraps a caller-owned buffer (tests, fuzzing, load-from-memory); the buffer must outlive this.
  static std::shared_ptr<MappedFile> FromBuffer(const void* data, uint64_t size);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Whether the bytes are a private huge-page copy (MapMode::kHugePageCopy took effect).
  bool huge_page_copy() const { return copy_bytes_ != 0; }
  // For a huge-page copy: makes the bytes writable (true) or read-only again (false), so that a
  // loader can rewrite tensors in place (the interleaved weight layout). Returns false, changing
  // nothing, for a file mapping or a wrapped buffer, or if the kernel refuses.
  bool SetWritable(bool writable);

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  bool owns_mapping_ = false;
  size_t copy_bytes_ = 0;  // length of the anonymous mapping of a huge-page copy
  std::string path_;
};

}  // namespace fathom

#endif  // FATHOM_LIB_FORMAT_MAPPED_FILE_H_
