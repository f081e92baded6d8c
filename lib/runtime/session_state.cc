// Session state files (see session_state.h): writing through a sink, validating an image.
#include "runtime/session_state.h"

#include <array>
#include <cstring>
#include <limits>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

#include "absl/strings/str_format.h"

namespace fathom::internal {
namespace {

#if !defined(__SSE4_2__)
constexpr uint32_t kCrc32cPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kCrc32cPoly : c >> 1;
    t[i] = c;
  }
  return t;
}
#endif

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t GetU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

int64_t DtypeBytes(const std::string& dtype) {
  if (dtype == "i32" || dtype == "f32") return 4;
  return 0;
}

}  // namespace

uint32_t Crc32c(const void* data, size_t n, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
#if defined(__SSE4_2__)
  uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
  }
  crc = static_cast<uint32_t>(c);
  for (; n > 0; --n, ++p) crc = _mm_crc32_u8(crc, *p);
#else
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  for (; n > 0; --n, ++p) crc = table[(crc ^ *p) & 0xff] ^ (crc >> 8);
#endif
  return ~crc;
}

uint64_t Fnv1a64(const void* data, size_t n, uint64_t h) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

absl::Status WriteSessionState(state::SessionStateHeader header,
                               const std::vector<StateBlobRef>& blobs, const StateSink& sink) {
  header.set_format_version(kSessionStateVersion);
  header.clear_blobs();
  uint64_t offset = 0;
  for (const StateBlobRef& b : blobs) {
    state::Blob* d = header.add_blobs();
    d->set_name(b.name);
    d->set_dtype(b.dtype);
    for (int64_t s : b.shape) d->add_shape(s);
    d->set_offset(offset);
    d->set_size(b.size);
    d->set_crc32c(Crc32c(b.data, b.size));
    offset += b.size;
  }
  std::string bytes;
  if (!header.SerializeToString(&bytes)) {
    return absl::InternalError("cannot serialize the session state header");
  }
  if (bytes.size() > kMaxSessionStateHeaderBytes) {
    return absl::ResourceExhaustedError("session state header too large");
  }
  uint8_t prefix[kSessionStatePrefixBytes];
  std::memcpy(prefix, kSessionStateMagic, 8);
  PutU32(prefix + 8, static_cast<uint32_t>(bytes.size()));
  PutU32(prefix + 12, Crc32c(bytes.data(), bytes.size()));
  if (absl::Status s = sink(prefix, sizeof(prefix)); !s.ok()) return s;
  if (absl::Status s = sink(bytes.data(), bytes.size()); !s.ok()) return s;
  for (const StateBlobRef& b : blobs) {
    if (b.size == 0) continue;
    if (absl::Status s = sink(b.data, b.size); !s.ok()) return s;
  }
  return absl::OkStatus();
}

const state::Blob* ParsedSessionState::Find(const std::string& name) const {
  for (const state::Blob& b : header.blobs()) {
    if (b.name() == name) return &b;
  }
  return nullptr;
}

absl::StatusOr<ParsedSessionState> ParseSessionState(absl::Span<const uint8_t> image) {
  if (image.size() < kSessionStatePrefixBytes) {
    return absl::DataLossError(
        absl::StrFormat("session state: %d bytes is too short for a state file", image.size()));
  }
  if (std::memcmp(image.data(), kSessionStateMagic, 8) != 0) {
    return absl::DataLossError("session state: not a fathom session state (bad magic)");
  }
  const uint32_t header_size = GetU32(image.data() + 8);
  const uint64_t rest = image.size() - kSessionStatePrefixBytes;
  if (header_size > kMaxSessionStateHeaderBytes || header_size > rest) {
    return absl::DataLossError(absl::StrFormat(
        "session state: header of %d bytes does not fit in the %d bytes that follow (truncated?)",
        header_size, rest));
  }
  const uint8_t* header_bytes = image.data() + kSessionStatePrefixBytes;
  if (Crc32c(header_bytes, header_size) != GetU32(image.data() + 12)) {
    return absl::DataLossError("session state: header checksum mismatch (corrupted file)");
  }
  ParsedSessionState out;
  if (!out.header.ParseFromArray(header_bytes, static_cast<int>(header_size))) {
    return absl::DataLossError("session state: malformed header");
  }
  if (out.header.format_version() != kSessionStateVersion) {
    return absl::UnimplementedError(absl::StrFormat(
        "session state: format version %d is not supported (this build reads version %d)",
        out.header.format_version(), kSessionStateVersion));
  }
  out.blob_area = header_bytes + header_size;
  const uint64_t area = rest - header_size;
  for (const state::Blob& b : out.header.blobs()) {
    const int64_t elem = DtypeBytes(b.dtype());
    if (elem == 0) {
      return absl::DataLossError(
          absl::StrFormat("session state: blob '%s' has unknown dtype '%s'", b.name(), b.dtype()));
    }
    if (b.offset() > area || b.size() > area - b.offset()) {
      return absl::DataLossError(absl::StrFormat(
          "session state: blob '%s' (%d bytes at %d) lies beyond the end of the file (truncated?)",
          b.name(), b.size(), b.offset()));
    }
    // The shape must describe exactly the blob's bytes (no overflow: every step stays <= size).
    uint64_t n = static_cast<uint64_t>(elem);
    for (int64_t d : b.shape()) {
      if (d < 0 || (d > 0 && n > b.size() / static_cast<uint64_t>(d))) {
        n = std::numeric_limits<uint64_t>::max();
        break;
      }
      n *= static_cast<uint64_t>(d);
    }
    if (n != b.size()) {
      return absl::DataLossError(absl::StrFormat(
          "session state: blob '%s' shape does not match its %d bytes", b.name(), b.size()));
    }
    if (Crc32c(out.Data(b), b.size()) != b.crc32c()) {
      return absl::DataLossError(
          absl::StrFormat("session state: blob '%s' checksum mismatch (corrupted file)", b.name()));
    }
  }
  return out;
}

}  // namespace fathom::internal
