// The row-interleaved weight layout (see interleave.h): each format is a list of segments of the
// row format's unit, scattered to [element][row].
#include "kernels/interleave.h"

#include <cstring>
#include <vector>

namespace fathom {
namespace {

struct Segment {
  int src_offset;        // within one row's unit
  int count;             // elements
  int size;              // bytes per element (2 or 4)
  bool q5_high = false;  // Q5_0 qh dwords: bits transposed (TransposeQ5High)
};

// Q5_0's qh: bit e (element e's fifth bit) moves to bit 8 (e % 4) + e / 4, so that the four
// elements of a code dword (e = 4g .. 4g + 3) have their bits at bit g of four bytes.
uint32_t TransposeQ5High(uint32_t qh) {
  uint32_t out = 0;
  for (int e = 0; e < 32; ++e) out |= ((qh >> e) & 1u) << (8 * (e % 4) + e / 4);
  return out;
}
uint32_t UntransposeQ5High(uint32_t t) {
  uint32_t out = 0;
  for (int e = 0; e < 32; ++e) out |= ((t >> (8 * (e % 4) + e / 4)) & 1u) << e;
  return out;
}

struct Format {
  int row_unit_bytes;  // one row's bytes per 256 elements
  std::vector<Segment> segments;
};

// Q8_0 / Q4_0 / Q5_0 units of `blocks` blocks: d [blocks][16], Q5_0's qh [blocks][16], qs.
Format MakeBlocks32Format(int block_bytes, int qs_dwords, int blocks = 8) {
  const bool q5 = block_bytes == 22;
  const int qs_offset = q5 ? 6 : 2;
  Format f{blocks * block_bytes, {}};
  for (int b = 0; b < blocks; ++b) f.segments.push_back({b * block_bytes, 1, 2});
  if (q5) {
    for (int b = 0; b < blocks; ++b) f.segments.push_back({b * block_bytes + 2, 1, 4, true});
  }
  for (int b = 0; b < blocks; ++b) {
    f.segments.push_back({b * block_bytes + qs_offset, qs_dwords, 4});
  }
  return f;
}

// Q6_K: scales, then per half h and k < 8 the three dwords one step of the kernel reads (ql
// dwords 16h + k and 16h + 8 + k, qh dword 8h + k) next to each other, then d.
Format MakeQ6KFormat() {
  Format f{210, {{192, 4, 4}}};
  for (int h = 0; h < 2; ++h) {
    for (int k = 0; k < 8; ++k) {
      f.segments.push_back({4 * (16 * h + k), 1, 4});
      f.segments.push_back({4 * (16 * h + 8 + k), 1, 4});
      f.segments.push_back({128 + 4 * (8 * h + k), 1, 4});
    }
  }
  f.segments.push_back({208, 1, 2});
  return f;
}

const Format* FormatOf(DType type) {
  static const Format q4k{144, {{0, 1, 2}, {2, 1, 2}, {4, 3, 4}, {16, 32, 4}}};
  static const Format q5k{176, {{0, 1, 2}, {2, 1, 2}, {4, 3, 4}, {16, 8, 4}, {48, 32, 4}}};
  static const Format q6k = MakeQ6KFormat();
  static const Format q8_0 = MakeBlocks32Format(34, 8);
  static const Format q4_0 = MakeBlocks32Format(18, 4);
  static const Format q5_0 = MakeBlocks32Format(22, 4);
  switch (type) {
    case DType::kQ4_K:
      return &q4k;
    case DType::kQ5_K:
      return &q5k;
    case DType::kQ6_K:
      return &q6k;
    case DType::kQ8_0:
      return &q8_0;
    case DType::kQ4_0:
      return &q4_0;
    case DType::kQ5_0:
      return &q5_0;
    default:
      return nullptr;
  }
}

// The format of unit u of a row of `cols` elements: Q8_0 / Q4_0 rows may end in a unit of fewer
// than eight blocks (cols a multiple of 32), laid out as a unit of that many blocks.
const Format* UnitFormat(DType type, int64_t cols, int64_t u) {
  const int64_t tail = (cols % 256) / 32;
  if (tail == 0 || u < cols / 256) return FormatOf(type);
  static const std::vector<Format> q8_0 = [] {
    std::vector<Format> v;
    for (int n = 0; n < 8; ++n) v.push_back(MakeBlocks32Format(34, 8, n));
    return v;
  }();
  static const std::vector<Format> q4_0 = [] {
    std::vector<Format> v;
    for (int n = 0; n < 8; ++n) v.push_back(MakeBlocks32Format(18, 4, n));
    return v;
  }();
  static const std::vector<Format> q5_0 = [] {
    std::vector<Format> v;
    for (int n = 0; n < 8; ++n) v.push_back(MakeBlocks32Format(22, 4, n));
    return v;
  }();
  return type == DType::kQ8_0 ? &q8_0[tail] : type == DType::kQ4_0 ? &q4_0[tail] : &q5_0[tail];
}

// Calls copy(row_offset, unit_offset, size, q5_high) for every element of row `r` of one unit:
// the byte offset within the row's unit and within the 16-row interleaved unit.
template <typename Fn>
inline __attribute__((always_inline)) void ForEachElement(const Format& f, int r, Fn copy) {
  int base = 0;
  for (const Segment& s : f.segments) {
    for (int e = 0; e < s.count; ++e) {
      copy(s.src_offset + e * s.size, base + (e * kInterleaveRows + r) * s.size, s.size, s.q5_high);
    }
    base += s.count * s.size * kInterleaveRows;
  }
}

// Copies one element (2 or 4 bytes); a Q5_0 high-bit word passes through `fix` on the way.
inline void CopyElement(uint8_t* dst, const uint8_t* src, int size, bool q5_high,
                        uint32_t (*fix)(uint32_t)) {
  if (size == 2) {
    std::memcpy(dst, src, 2);
    return;
  }
  uint32_t v;
  std::memcpy(&v, src, 4);
  if (q5_high) v = fix(v);
  std::memcpy(dst, &v, 4);
}

}  // namespace

bool InterleaveSupported(DType type, int64_t rows, int64_t cols) {
  const int64_t unit =
      type == DType::kQ4_K || type == DType::kQ5_K || type == DType::kQ6_K ? 256 : 32;
  return FormatOf(type) != nullptr && rows > 0 && rows % kInterleaveRows == 0 && cols > 0 &&
         cols % unit == 0;
}

uint64_t InterleavedUnitBytes(DType type) {
  const Format* f = FormatOf(type);
  return f == nullptr ? 0 : static_cast<uint64_t>(f->row_unit_bytes) * kInterleaveRows;
}

void InterleaveRows(DType type, uint8_t* data, int64_t rows, int64_t cols) {
  const Format& full = *FormatOf(type);
  const int64_t units = (cols + 255) / 256;
  const uint64_t row_bytes = static_cast<uint64_t>(cols / Traits(type).block_size) *
                             static_cast<uint64_t>(Traits(type).type_size);
  const uint64_t unit_bytes = static_cast<uint64_t>(full.row_unit_bytes) * kInterleaveRows;
  std::vector<uint8_t> group(row_bytes * kInterleaveRows);
  for (int64_t g = 0; g < rows / kInterleaveRows; ++g) {
    uint8_t* dst = data + static_cast<uint64_t>(g) * group.size();
    std::memcpy(group.data(), dst, group.size());
    for (int64_t u = 0; u < units; ++u) {
      const Format& f = *UnitFormat(type, cols, u);
      uint8_t* unit = dst + static_cast<uint64_t>(u) * unit_bytes;
      for (int r = 0; r < kInterleaveRows; ++r) {
        const uint8_t* src = group.data() + r * row_bytes + u * full.row_unit_bytes;
        ForEachElement(f, r, [&](int from, int to, int size, bool q5_high) {
          CopyElement(unit + to, src + from, size, q5_high, TransposeQ5High);
        });
      }
    }
  }
}

void ExtractInterleavedRow(DType type, const uint8_t* data, int64_t r, int64_t cols, uint8_t* out) {
  const Format& full = *FormatOf(type);
  const int64_t units = (cols + 255) / 256;
  const uint64_t row_bytes = static_cast<uint64_t>(cols / Traits(type).block_size) *
                             static_cast<uint64_t>(Traits(type).type_size);
  const uint64_t unit_bytes = static_cast<uint64_t>(full.row_unit_bytes) * kInterleaveRows;
  const uint8_t* group =
      data + static_cast<uint64_t>(r / kInterleaveRows) * kInterleaveRows * row_bytes;
  const int lane = static_cast<int>(r % kInterleaveRows);
  for (int64_t u = 0; u < units; ++u) {
    const Format& f = *UnitFormat(type, cols, u);
    const uint8_t* unit = group + static_cast<uint64_t>(u) * unit_bytes;
    uint8_t* dst = out + u * full.row_unit_bytes;
    ForEachElement(f, lane, [&](int from, int to, int size, bool q5_high) {
      CopyElement(dst + from, unit + to, size, q5_high, UntransposeQ5High);
    });
  }
}

}  // namespace fathom
