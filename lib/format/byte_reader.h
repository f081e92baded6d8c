// Bounds-checked little-endian cursor over an untrusted byte range (used by the file parsers).
#ifndef FATHOM_LIB_FORMAT_BYTE_READER_H_
#define FATHOM_LIB_FORMAT_BYTE_READER_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"

namespace fathom {

// Every read checks the remaining length first; reading past the end is a DataLoss error that
// names the offset, what was being read and how many bytes were left. Never reads out of bounds.
class ByteReader {
 public:
  // `prefix` starts every error message, e.g. "gguf".
  ByteReader(const uint8_t* data, uint64_t size, std::string_view prefix)
      : data_(data), size_(size), prefix_(prefix) {}

  uint64_t pos() const { return pos_; }
  uint64_t size() const { return size_; }
  uint64_t remaining() const { return size_ - pos_; }
  const uint8_t* data() const { return data_; }

  // An error "<prefix>: at offset <at>: <message>".
  absl::Status ErrorAt(uint64_t at, absl::StatusCode code, std::string_view message) const {
    return absl::Status(code, absl::StrFormat("%s: at offset %d: %s", prefix_, at, message));
  }
  absl::Status Invalid(uint64_t at, std::string_view message) const {
    return ErrorAt(at, absl::StatusCode::kInvalidArgument, message);
  }

  // Succeeds when `n` more bytes are available for `what`.
  absl::Status Need(uint64_t n, std::string_view what) const {
    if (n > remaining()) {
      return ErrorAt(pos_, absl::StatusCode::kDataLoss,
                     absl::StrFormat("truncated: %s needs %d bytes, only %d remain (file size %d)",
                                     what, n, remaining(), size_));
    }
    return absl::OkStatus();
  }

  absl::Status Skip(uint64_t n, std::string_view what) {
    absl::Status s = Need(n, what);
    if (!s.ok()) return s;
    pos_ += n;
    return absl::OkStatus();
  }

  absl::StatusOr<uint8_t> U8(std::string_view what) {
    absl::Status s = Need(1, what);
    if (!s.ok()) return s;
    return data_[pos_++];
  }
  absl::StatusOr<uint16_t> U16(std::string_view what) {
    absl::StatusOr<uint64_t> v = Le(2, what);
    if (!v.ok()) return v.status();
    return static_cast<uint16_t>(*v);
  }
  absl::StatusOr<uint32_t> U32(std::string_view what) {
    absl::StatusOr<uint64_t> v = Le(4, what);
    if (!v.ok()) return v.status();
    return static_cast<uint32_t>(*v);
  }
  absl::StatusOr<uint64_t> U64(std::string_view what) { return Le(8, what); }

  // A length-prefixed (u64) byte string. The length is checked against the remaining bytes
  // before anything is allocated.
  absl::StatusOr<std::string> String(std::string_view what) {
    const uint64_t at = pos_;
    absl::StatusOr<uint64_t> len = U64(what);
    if (!len.ok()) return len.status();
    if (*len > remaining()) {
      const uint64_t rem = remaining();
      pos_ = at;
      return ErrorAt(
          at, absl::StatusCode::kDataLoss,
          absl::StrFormat("%s: string length %d exceeds remaining %d bytes", what, *len, rem));
    }
    std::string out(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(*len));
    pos_ += *len;
    return out;
  }

 private:
  absl::StatusOr<uint64_t> Le(int n, std::string_view what) {
    absl::Status s = Need(static_cast<uint64_t>(n), what);
    if (!s.ok()) return s;
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | data_[pos_ + static_cast<uint64_t>(i)];
    pos_ += static_cast<uint64_t>(n);
    return v;
  }

  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::string prefix_;
};

}  // namespace fathom

#endif  // FATHOM_LIB_FORMAT_BYTE_READER_H_
