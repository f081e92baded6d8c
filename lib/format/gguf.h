// GGUF file model: metadata values and tensor infos (shared by the reader and the writer).
#ifndef FATHOM_LIB_FORMAT_GGUF_H_
#define FATHOM_LIB_FORMAT_GGUF_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "tensor/dtype.h"

namespace fathom {

// GGUF metadata value type ids.
enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

struct GgufValue;
struct GgufArray {
  GgufType element_type = GgufType::kUint8;
  std::vector<GgufValue> values;
};

// One metadata value. Integers keep their declared GGUF type in `type`.
struct GgufValue {
  GgufType type = GgufType::kUint8;
  std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> value;
};

struct GgufKeyValue {
  std::string key;
  GgufValue value;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // ggml order: dims[0] is the row length (contiguous)
  DType type = DType::kF32;
  uint64_t offset = 0;  // relative to the start of the tensor data section
  uint64_t n_bytes = 0;
  int64_t n_elements = 0;
};

}  // namespace fathom

#endif  // FATHOM_LIB_FORMAT_GGUF_H_
