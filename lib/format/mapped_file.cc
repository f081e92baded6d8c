// Read-only memory mapping of a whole file (or a wrapper around a caller-owned buffer).
#include "format/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace fathom {
namespace {

std::string ErrnoText(int err) { return absl::StrFormat("%s (errno %d)", std::strerror(err), err); }

// Closes a file descriptor when it goes out of scope.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

// Reads the whole file into anonymous memory advised for transparent huge pages. Returns null
// (and the caller maps the file instead) when the memory cannot be had.
const uint8_t* CopyToHugePages(int fd, uint64_t size, size_t* mapped_bytes, absl::Status* error,
                               const std::string& path) {
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t len = (static_cast<size_t>(size) + kHuge - 1) / kHuge * kHuge;
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
#ifdef MADV_HUGEPAGE
  (void)::madvise(p, len, MADV_HUGEPAGE);
#endif
  auto* dst = static_cast<uint8_t*>(p);
  uint64_t done = 0;
  while (done < size) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(size - done, uint64_t{1} << 30));
    const ssize_t got = ::pread(fd, dst + done, want, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      const int err = got < 0 ? errno : 0;
      *error = absl::DataLossError(
          absl::StrFormat("cannot read '%s' at byte %d of %d: %s", path, done, size,
                          got < 0 ? ErrnoText(err) : std::string("the file ended early")));
      ::munmap(p, len);
      return nullptr;
    }
    done += static_cast<uint64_t>(got);
  }
  (void)::mprotect(p, len, PROT_READ);
  *mapped_bytes = len;
  return dst;
}

}  // namespace

bool MappedFile::SetWritable(bool writable) {
  if (copy_bytes_ == 0) return false;
  return ::mprotect(const_cast<uint8_t*>(data_), copy_bytes_,
                    writable ? PROT_READ | PROT_WRITE : PROT_READ) == 0;
}

absl::StatusOr<std::shared_ptr<MappedFile>> MappedFile::Open(const std::string& path,
                                                             MapMode mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    const int err = errno;
    const std::string msg = absl::StrFormat("cannot open '%s': %s", path, ErrnoText(err));
    if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(msg);
    if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
    return absl::InvalidArgumentError(msg);
  }
  FdCloser closer(fd);

  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot stat '%s': %s", path, ErrnoText(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrFormat("cannot map '%s': not a regular file", path));
  }
  if (st.st_size < 0) {
    return absl::InvalidArgumentError(absl::StrFormat("cannot map '%s': negative size", path));
  }

  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<uint64_t>(st.st_size);
  if (file->size_ == 0) return file;  // nothing to map: data() stays null
  if (file->size_ > static_cast<uint64_t>(SIZE_MAX)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot map '%s': file of %d bytes is too large", path, file->size_));
  }

  if (mode == MapMode::kHugePageCopy) {
    absl::Status read_error;
    const uint8_t* copy = CopyToHugePages(fd, file->size_, &file->copy_bytes_, &read_error, path);
    if (!read_error.ok()) return read_error;
    if (copy != nullptr) {
      file->data_ = copy;
      file->owns_mapping_ = true;
      return file;
    }
    // No anonymous memory to be had: map the file as usual.
  }

  void* p = ::mmap(nullptr, static_cast<size_t>(file->size_), PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    const std::string msg =
        absl::StrFormat("cannot mmap '%s' (%d bytes): %s", path, file->size_, ErrnoText(err));
    if (err == ENOMEM) return absl::ResourceExhaustedError(msg);
    return absl::InvalidArgumentError(msg);
  }
#ifdef MADV_HUGEPAGE
  // A hint only: file-backed huge pages need kernel support; failure changes nothing.
  (void)::madvise(p, static_cast<size_t>(file->size_), MADV_HUGEPAGE);
#endif
  file->data_ = static_cast<const uint8_t*>(p);
  file->owns_mapping_ = true;
  return file;
}

std::shared_ptr<MappedFile> MappedFile::FromBuffer(const void* data, uint64_t size) {
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->data_ = size == 0 ? nullptr : static_cast<const uint8_t*>(data);
  file->size_ = data == nullptr ? 0 : size;
  file->owns_mapping_ = false;
  file->path_ = "<memory>";
  return file;
}

MappedFile::~MappedFile() {
  if (owns_mapping_ && data_ != nullptr) {
    ::munmap(const_cast<uint8_t*>(data_),
             copy_bytes_ != 0 ? copy_bytes_ : static_cast<size_t>(size_));
  }
}

}  // namespace fathom
