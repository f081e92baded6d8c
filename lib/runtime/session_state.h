// Session state files: a protobuf header (format version, model fingerprint, dims, cache dtype,
// blob table) followed by raw blobs with CRC-32C checksums. Writing streams to a sink; reading
// validates a whole in-memory or mapped image (every size is checked against the image before
// anything is allocated or copied). See docs/SESSIONS.md for the layout and its versioning.
#ifndef FATHOM_LIB_RUNTIME_SESSION_STATE_H_
#define FATHOM_LIB_RUNTIME_SESSION_STATE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/session_state.pb.h"

namespace fathom::internal {

inline constexpr uint32_t kSessionStateVersion = 1;
inline constexpr char kSessionStateMagic[8] = {'F', 'A', 'T', 'H', 'O', 'M', 'S', 'T'};
// Magic, header size, header CRC.
inline constexpr size_t kSessionStatePrefixBytes = 16;
// A header larger than this is refused (it holds no bulk data).
inline constexpr uint32_t kMaxSessionStateHeaderBytes = 16u << 20;

uint32_t Crc32c(const void* data, size_t n, uint32_t crc = 0);
// FNV-1a, 64-bit; `h` chains calls.
inline constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
uint64_t Fnv1a64(const void* data, size_t n, uint64_t h = kFnvOffset);

// A blob to write: a view of the caller's memory.
struct StateBlobRef {
  std::string name;
  std::string dtype;  // "i32" | "f32"
  std::vector<int64_t> shape;
  const void* data = nullptr;
  uint64_t size = 0;  // bytes
};

using StateSink = std::function<absl::Status(const void* data, size_t n)>;

// Completes `header` (version, blob table with offsets, sizes and CRCs) and writes the file.
absl::Status WriteSessionState(state::SessionStateHeader header,
                               const std::vector<StateBlobRef>& blobs, const StateSink& sink);

// A validated state image: the header, and each blob's bytes inside the image.
struct ParsedSessionState {
  state::SessionStateHeader header;
  const uint8_t* blob_area = nullptr;
  // The blob called `name` (nullptr when absent).
  const state::Blob* Find(const std::string& name) const;
  const uint8_t* Data(const state::Blob& b) const { return blob_area + b.offset(); }
};

// Checks the magic, sizes, header CRC, format version, every blob's bounds, shape and CRC.
// Errors: DataLoss for a truncated or corrupted image, Unimplemented for an unknown version.
absl::StatusOr<ParsedSessionState> ParseSessionState(absl::Span<const uint8_t> image);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_RUNTIME_SESSION_STATE_H_
