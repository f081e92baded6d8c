// Test helper: SHA-256 of a byte string (hex), to compare files with hashes recorded from
// external tools (e.g. llama-quantize outputs) without shipping the files.
#ifndef FATHOM_TESTS_SUPPORT_SHA256_H_
#define FATHOM_TESTS_SUPPORT_SHA256_H_

#include <string>

namespace fathom::testing {

std::string Sha256Hex(const std::string& bytes);

}  // namespace fathom::testing

#endif  // FATHOM_TESTS_SUPPORT_SHA256_H_
