// Helpers shared by the GGUF reader and writer (type names, sizes, limits); not a public API.
#ifndef FATHOM_LIB_FORMAT_GGUF_INTERNAL_H_
#define FATHOM_LIB_FORMAT_GGUF_INTERNAL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "format/gguf.h"

namespace fathom {

inline constexpr uint64_t kGgufDefaultAlignment = 32;
// Arrays may nest (array of arrays ...) at most this many levels deep.
inline constexpr int kGgufMaxArrayDepth = 8;
// All metadata arrays together hold at most this many elements. Each costs ~48 bytes in memory
// but as little as 1 byte in the file, so without a cap a file could make the reader allocate
// ~48x its size. Real files stay far below (a 256K-token vocabulary: ~1M elements).
inline constexpr uint64_t kGgufMaxMetadataElements = uint64_t{1} << 24;
// llama.cpp (GGML_MAX_NAME) rejects tensor names of this many bytes or more.
inline constexpr size_t kGgufMaxTensorName = 64;

std::string_view GgufTypeName(GgufType t);
bool GgufIsValidType(uint32_t t);
bool GgufIsInteger(GgufType t);
bool GgufIsUnsigned(GgufType t);
// Fewest bytes one encoded value of type `t` can take (arrays: the empty array).
uint64_t GgufMinEncodedSize(GgufType t);
// A printable, length-capped, quoted form of an untrusted string for error messages.
std::string GgufQuote(std::string_view s);
// Abseil here may have its own string_view type; convert explicitly.
inline absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace fathom

#endif  // FATHOM_LIB_FORMAT_GGUF_INTERNAL_H_
