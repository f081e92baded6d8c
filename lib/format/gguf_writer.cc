// GGUF v3 serializer: header, metadata, tensor infos, aligned tensor data (llama.cpp-compatible).
#include "format/gguf_writer.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "format/gguf_internal.h"

namespace fathom {
namespace {

constexpr char kAlignmentKey[] = "general.alignment";

// Little-endian byte sink.
class Sink {
 public:
  explicit Sink(std::vector<uint8_t>* out) : out_(out) {}
  void Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_->push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void Bytes(const void* p, size_t n) {
    if (n == 0) return;
    const size_t old = out_->size();
    out_->resize(old + n);
    std::memcpy(out_->data() + old, p, n);
  }
  void String(const std::string& s) {
    U64(s.size());
    Bytes(s.data(), s.size());
  }
  void PadTo(uint64_t alignment) {
    while (out_->size() % alignment != 0) out_->push_back(0);
  }
  size_t size() const { return out_->size(); }

 private:
  std::vector<uint8_t>* out_;
};

absl::Status ValueError(std::string_view key, std::string_view msg) {
  return absl::InvalidArgumentError(
      absl::StrFormat("gguf writer: key %s: %s", GgufQuote(key), msg));
}

// An integer value (either variant alternative) checked against [lo, hi].
absl::StatusOr<uint64_t> IntBits(std::string_view key, const GgufValue& v, bool is_signed,
                                 int bits) {
  const auto* u = std::get_if<uint64_t>(&v.value);
  const auto* i = std::get_if<int64_t>(&v.value);
  if (u == nullptr && i == nullptr) {
    return ValueError(key,
                      absl::StrFormat("%s value does not hold an integer", GgufTypeName(v.type)));
  }
  if (is_signed) {
    const int64_t lo =
        bits == 64 ? std::numeric_limits<int64_t>::min() : -(int64_t{1} << (bits - 1));
    const int64_t hi =
        bits == 64 ? std::numeric_limits<int64_t>::max() : (int64_t{1} << (bits - 1)) - 1;
    if (u != nullptr && *u > static_cast<uint64_t>(hi)) {
      return ValueError(key,
                        absl::StrFormat("value %d does not fit in %s", *u, GgufTypeName(v.type)));
    }
    const int64_t x = u != nullptr ? static_cast<int64_t>(*u) : *i;
    if (x < lo || x > hi) {
      return ValueError(key,
                        absl::StrFormat("value %d does not fit in %s", x, GgufTypeName(v.type)));
    }
    return static_cast<uint64_t>(x);
  }
  const uint64_t hi = bits == 64 ? std::numeric_limits<uint64_t>::max() : (uint64_t{1} << bits) - 1;
  if (i != nullptr && *i < 0) {
    return ValueError(key, absl::StrFormat("negative value %d in %s", *i, GgufTypeName(v.type)));
  }
  const uint64_t x = u != nullptr ? *u : static_cast<uint64_t>(*i);
  if (x > hi) {
    return ValueError(key, absl::StrFormat("value %d does not fit in %s", x, GgufTypeName(v.type)));
  }
  return x;
}

// Checks `v` against its declared type and appends its encoding (without the type id).
absl::Status EncodeValue(std::string_view key, const GgufValue& v, int depth, Sink* sink) {
  if (!GgufIsValidType(static_cast<uint32_t>(v.type))) {
    return ValueError(key, absl::StrFormat("unknown value type %d", static_cast<uint32_t>(v.type)));
  }
  switch (v.type) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kUint16:
    case GgufType::kInt16:
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kUint64:
    case GgufType::kInt64: {
      const int bytes = static_cast<int>(GgufMinEncodedSize(v.type));
      absl::StatusOr<uint64_t> bits = IntBits(key, v, !GgufIsUnsigned(v.type), bytes * 8);
      if (!bits.ok()) return bits.status();
      sink->Le(*bits, bytes);
      return absl::OkStatus();
    }
    case GgufType::kFloat32:
    case GgufType::kFloat64: {
      const auto* d = std::get_if<double>(&v.value);
      if (d == nullptr) {
        return ValueError(key,
                          absl::StrFormat("%s value does not hold a double", GgufTypeName(v.type)));
      }
      if (v.type == GgufType::kFloat32) {
        sink->U32(std::bit_cast<uint32_t>(static_cast<float>(*d)));
      } else {
        sink->U64(std::bit_cast<uint64_t>(*d));
      }
      return absl::OkStatus();
    }
    case GgufType::kBool: {
      const auto* b = std::get_if<bool>(&v.value);
      if (b == nullptr) return ValueError(key, "bool value does not hold a bool");
      sink->Le(*b ? 1 : 0, 1);
      return absl::OkStatus();
    }
    case GgufType::kString: {
      const auto* s = std::get_if<std::string>(&v.value);
      if (s == nullptr) return ValueError(key, "string value does not hold a string");
      sink->String(*s);
      return absl::OkStatus();
    }
    case GgufType::kArray: {
      const auto* a = std::get_if<GgufArray>(&v.value);
      if (a == nullptr) return ValueError(key, "array value does not hold an array");
      if (depth >= kGgufMaxArrayDepth) {
        return ValueError(
            key, absl::StrFormat("arrays nested deeper than %d levels", kGgufMaxArrayDepth));
      }
      if (!GgufIsValidType(static_cast<uint32_t>(a->element_type))) {
        return ValueError(key, absl::StrFormat("unknown array element type %d",
                                               static_cast<uint32_t>(a->element_type)));
      }
      sink->U32(static_cast<uint32_t>(a->element_type));
      sink->U64(a->values.size());
      for (size_t i = 0; i < a->values.size(); ++i) {
        if (a->values[i].type != a->element_type) {
          return ValueError(key, absl::StrFormat("array element %d has type %s, the array "
                                                 "declares %s",
                                                 i, GgufTypeName(a->values[i].type),
                                                 GgufTypeName(a->element_type)));
        }
        absl::Status s = EncodeValue(key, a->values[i], depth + 1, sink);
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    }
  }
  return ValueError(key, "unknown value type");
}

GgufValue Scalar(GgufType t,
                 std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> v) {
  GgufValue out;
  out.type = t;
  out.value = std::move(v);
  return out;
}

}  // namespace

void GgufWriter::SetValue(const std::string& key, const GgufValue& v) {
  for (GgufKeyValue& kv : kvs_) {
    if (kv.key == key) {
      kv.value = v;
      return;
    }
  }
  kvs_.push_back(GgufKeyValue{key, v});
}

void GgufWriter::SetString(const std::string& key, const std::string& v) {
  SetValue(key, Scalar(GgufType::kString, v));
}
void GgufWriter::SetUint32(const std::string& key, uint32_t v) {
  SetValue(key, Scalar(GgufType::kUint32, uint64_t{v}));
}
void GgufWriter::SetInt32(const std::string& key, int32_t v) {
  SetValue(key, Scalar(GgufType::kInt32, int64_t{v}));
}
void GgufWriter::SetUint64(const std::string& key, uint64_t v) {
  SetValue(key, Scalar(GgufType::kUint64, v));
}
void GgufWriter::SetFloat32(const std::string& key, float v) {
  SetValue(key, Scalar(GgufType::kFloat32, static_cast<double>(v)));
}
void GgufWriter::SetBool(const std::string& key, bool v) {
  SetValue(key, Scalar(GgufType::kBool, v));
}

void GgufWriter::SetStringArray(const std::string& key, const std::vector<std::string>& v) {
  GgufArray a;
  a.element_type = GgufType::kString;
  a.values.reserve(v.size());
  for (const std::string& s : v) a.values.push_back(Scalar(GgufType::kString, s));
  SetValue(key, Scalar(GgufType::kArray, std::move(a)));
}
void GgufWriter::SetFloat32Array(const std::string& key, const std::vector<float>& v) {
  GgufArray a;
  a.element_type = GgufType::kFloat32;
  a.values.reserve(v.size());
  for (float f : v) a.values.push_back(Scalar(GgufType::kFloat32, static_cast<double>(f)));
  SetValue(key, Scalar(GgufType::kArray, std::move(a)));
}
void GgufWriter::SetInt32Array(const std::string& key, const std::vector<int32_t>& v) {
  GgufArray a;
  a.element_type = GgufType::kInt32;
  a.values.reserve(v.size());
  for (int32_t x : v) a.values.push_back(Scalar(GgufType::kInt32, int64_t{x}));
  SetValue(key, Scalar(GgufType::kArray, std::move(a)));
}

absl::Status GgufWriter::CheckTensor(const std::string& name, DType type,
                                     const std::vector<int64_t>& dims, GgufTensorInfo* info) const {
  auto error = [&](std::string_view msg) {
    return absl::InvalidArgumentError(
        absl::StrFormat("gguf writer: tensor %s: %s", GgufQuote(name), msg));
  };
  if (name.empty()) return error("empty name");
  if (name.size() >= kGgufMaxTensorName) {
    return error(absl::StrFormat("name is %d bytes; llama.cpp accepts at most %d", name.size(),
                                 kGgufMaxTensorName - 1));
  }
  for (const PendingTensor& t : tensors_) {
    if (t.info.name == name) return error("added twice");
  }
  if (dims.empty() || dims.size() > 4) {
    return error(absl::StrFormat("%d dims, expected 1 to 4", dims.size()));
  }
  const std::optional<DTypeTraits> traits = GetDTypeTraits(static_cast<uint32_t>(type));
  if (!traits.has_value() || traits->block_size <= 0 || traits->type_size <= 0) {
    return error(absl::StrFormat("unknown type id %d", static_cast<uint32_t>(type)));
  }
  int64_t n = 1;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] <= 0) return error(absl::StrFormat("dims[%d] = %d is not positive", d, dims[d]));
    if (__builtin_mul_overflow(n, dims[d], &n)) return error("element count overflows int64");
  }
  if (dims[0] % traits->block_size != 0) {
    return error(absl::StrFormat("dims[0] = %d is not a multiple of the block size %d of %s",
                                 dims[0], traits->block_size, traits->name));
  }
  uint64_t expected = static_cast<uint64_t>(dims[0] / traits->block_size);
  bool overflow =
      __builtin_mul_overflow(expected, static_cast<uint64_t>(traits->type_size), &expected);
  for (size_t d = 1; d < dims.size() && !overflow; ++d) {
    overflow = __builtin_mul_overflow(expected, static_cast<uint64_t>(dims[d]), &expected);
  }
  if (overflow || expected > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return error("byte size overflows");
  }
  info->name = name;
  info->dims = dims;
  info->type = type;
  info->n_bytes = expected;
  info->n_elements = n;
  return absl::OkStatus();
}

absl::Status GgufWriter::AddTensor(const std::string& name, DType type,
                                   const std::vector<int64_t>& dims, const void* data,
                                   uint64_t n_bytes) {
  PendingTensor t;
  if (absl::Status s = CheckTensor(name, type, dims, &t.info); !s.ok()) return s;
  if (n_bytes != t.info.n_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gguf writer: tensor %s: %d bytes given, %s with %d elements needs %d", GgufQuote(name),
        n_bytes, Traits(type).name, t.info.n_elements, t.info.n_bytes));
  }
  if (data == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrFormat("gguf writer: tensor %s: null data", GgufQuote(name)));
  }
  const uint8_t* b = static_cast<const uint8_t*>(data);
  t.data.assign(b, b + n_bytes);
  tensors_.push_back(std::move(t));
  return absl::OkStatus();
}

absl::Status GgufWriter::AddTensorProducer(const std::string& name, DType type,
                                           const std::vector<int64_t>& dims,
                                           TensorProducer producer) {
  PendingTensor t;
  if (absl::Status s = CheckTensor(name, type, dims, &t.info); !s.ok()) return s;
  if (!producer) {
    return absl::InvalidArgumentError(
        absl::StrFormat("gguf writer: tensor %s: no producer", GgufQuote(name)));
  }
  t.producer = std::move(producer);
  tensors_.push_back(std::move(t));
  return absl::OkStatus();
}

absl::Status GgufWriter::EmitTensor(const PendingTensor& t, const ByteEmitter& emit) const {
  if (!t.producer) return emit(t.data.data(), t.data.size());
  uint64_t produced = 0;
  absl::Status s = t.producer([&](const void* data, uint64_t n) -> absl::Status {
    if (n > t.info.n_bytes - produced) {
      return absl::InternalError(
          absl::StrFormat("gguf writer: tensor %s: producer wrote more than %d bytes",
                          GgufQuote(t.info.name), t.info.n_bytes));
    }
    produced += n;
    return emit(data, n);
  });
  if (!s.ok()) return s;
  if (produced != t.info.n_bytes) {
    return absl::InternalError(
        absl::StrFormat("gguf writer: tensor %s: producer wrote %d of %d bytes",
                        GgufQuote(t.info.name), produced, t.info.n_bytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> GgufWriter::SerializeHeader() const {
  if (alignment_ == 0 || !std::has_single_bit(alignment_) ||
      alignment_ > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "gguf writer: alignment %d is not a power of two that fits in uint32", alignment_));
  }
  // general.alignment is derived from the writer's alignment; a conflicting explicit kv is an
  // error.
  bool explicit_alignment = false;
  for (const GgufKeyValue& kv : kvs_) {
    if (kv.key.empty()) return absl::InvalidArgumentError("gguf writer: empty key");
    if (kv.key != kAlignmentKey) continue;
    const auto* u = std::get_if<uint64_t>(&kv.value.value);
    if (kv.value.type != GgufType::kUint32 || u == nullptr || *u != alignment_) {
      return ValueError(kv.key, absl::StrFormat("conflicts with the writer's alignment %d (set "
                                                "it through the constructor)",
                                                alignment_));
    }
    explicit_alignment = true;
  }
  const bool write_alignment = alignment_ != kGgufDefaultAlignment && !explicit_alignment;

  std::vector<uint8_t> out;
  Sink sink(&out);
  sink.Bytes("GGUF", 4);
  sink.U32(3);
  sink.U64(tensors_.size());
  sink.U64(kvs_.size() + (write_alignment ? 1 : 0));
  if (write_alignment) {
    sink.String(kAlignmentKey);
    sink.U32(static_cast<uint32_t>(GgufType::kUint32));
    sink.U32(static_cast<uint32_t>(alignment_));
  }
  for (const GgufKeyValue& kv : kvs_) {
    sink.String(kv.key);
    sink.U32(static_cast<uint32_t>(kv.value.type));
    absl::Status s = EncodeValue(kv.key, kv.value, 0, &sink);
    if (!s.ok()) return s;
  }
  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    sink.String(t.info.name);
    sink.U32(static_cast<uint32_t>(t.info.dims.size()));
    for (int64_t d : t.info.dims) sink.U64(static_cast<uint64_t>(d));
    sink.U32(static_cast<uint32_t>(t.info.type));
    sink.U64(offset);
    offset += t.info.n_bytes;
    offset = (offset + alignment_ - 1) / alignment_ * alignment_;
  }
  sink.PadTo(alignment_);
  return out;
}

absl::StatusOr<std::vector<uint8_t>> GgufWriter::Serialize() const {
  absl::StatusOr<std::vector<uint8_t>> out = SerializeHeader();
  if (!out.ok()) return out.status();
  Sink sink(&*out);
  for (const PendingTensor& t : tensors_) {
    absl::Status s = EmitTensor(t, [&](const void* data, uint64_t n) {
      sink.Bytes(data, n);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    sink.PadTo(alignment_);
  }
  return out;
}

absl::Status GgufWriter::WriteFile(const std::string& path) const {
  // The header is built first so that a bad key fails before the file is created.
  absl::StatusOr<std::vector<uint8_t>> header = SerializeHeader();
  if (!header.ok()) return header.status();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    const int err = errno;
    return absl::InvalidArgumentError(
        absl::StrFormat("gguf writer: cannot create '%s': %s", path, std::strerror(err)));
  }
  uint64_t pos = 0;
  int write_err = 0;
  auto write = [&](const void* data, uint64_t n) -> absl::Status {
    if (n == 0) return absl::OkStatus();
    if (std::fwrite(data, 1, n, f) != n) {
      write_err = errno;
      return absl::DataLossError(
          absl::StrFormat("gguf writer: writing '%s' failed: %s", path, std::strerror(write_err)));
    }
    pos += n;
    return absl::OkStatus();
  };
  absl::Status s = write(header->data(), header->size());
  static constexpr uint8_t kZeros[256] = {};
  for (size_t i = 0; s.ok() && i < tensors_.size(); ++i) {
    s = EmitTensor(tensors_[i], write);
    while (s.ok() && pos % alignment_ != 0) {
      s = write(kZeros, std::min<uint64_t>(sizeof(kZeros), alignment_ - pos % alignment_));
    }
  }
  const bool flush_ok = std::fflush(f) == 0;
  const bool close_ok = std::fclose(f) == 0;
  if (!s.ok()) return s;
  if (!flush_ok || !close_ok) {
    return absl::DataLossError(
        absl::StrFormat("gguf writer: writing '%s' failed: %s", path, std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace fathom
