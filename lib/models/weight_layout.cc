// Load-time rewrite of MatMul-only weight matrices into the interleaved layout (see the header).
#include "models/weight_layout.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace fathom::internal {

int64_t InterleaveForDecode(MappedFile& file, absl::Span<WeightMatrix* const> matrices,
                            absl::Span<const uint8_t* const> keep) {
  if (const char* env = std::getenv("FATHOM_INTERLEAVE");
      env != nullptr && std::strcmp(env, "0") == 0) {
    return 0;
  }
  if (!file.huge_page_copy() || !file.SetWritable(true)) return 0;
  const absl::flat_hash_set<const uint8_t*> kept(keep.begin(), keep.end());
  // Matrices by their first byte; bytes shared by matrices of different shapes stay as they are.
  absl::flat_hash_map<const uint8_t*, std::vector<WeightMatrix*>> by_data;
  for (WeightMatrix* w : matrices) {
    if (w->data != nullptr && !kept.contains(w->data)) by_data[w->data].push_back(w);
  }
  const uint8_t* begin = file.data();
  int64_t count = 0;
  for (auto& [data, users] : by_data) {
    const WeightMatrix& first = *users.front();
    bool same = true;
    for (const WeightMatrix* w : users) {
      same = same && w->type == first.type && w->rows == first.rows && w->cols == first.cols;
    }
    // The matrix must lie inside the file's private copy (it came from the GGUF's data section).
    if (!same || data < begin || first.rows * first.row_bytes > file.size() ||
        static_cast<uint64_t>(data - begin) > file.size() - first.rows * first.row_bytes) {
      continue;
    }
    if (!InterleaveWeightMatrix(*users.front(), const_cast<uint8_t*>(data))) continue;
    for (WeightMatrix* w : users) w->interleaved = true;
    ++count;
  }
  (void)file.SetWritable(false);
  return count;
}

}  // namespace fathom::internal
