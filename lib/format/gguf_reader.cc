// GGUF v2/v3 parser: validates every field of an untrusted file before use, exposes metadata and
// zero-copy tensor views into the mapping.
#include "format/gguf_reader.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "format/byte_reader.h"
#include "format/gguf_internal.h"

namespace fathom {

std::string GgufQuote(std::string_view s) {
  constexpr size_t kMaxShown = 80;
  if (s.size() <= kMaxShown) return absl::StrCat("'", absl::CHexEscape(AsAbsl(s)), "'");
  return absl::StrCat("'", absl::CHexEscape(AsAbsl(s.substr(0, kMaxShown))), "'... (", s.size(),
                      " bytes)");
}

std::string_view GgufTypeName(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
      return "uint8";
    case GgufType::kInt8:
      return "int8";
    case GgufType::kUint16:
      return "uint16";
    case GgufType::kInt16:
      return "int16";
    case GgufType::kUint32:
      return "uint32";
    case GgufType::kInt32:
      return "int32";
    case GgufType::kFloat32:
      return "float32";
    case GgufType::kBool:
      return "bool";
    case GgufType::kString:
      return "string";
    case GgufType::kArray:
      return "array";
    case GgufType::kUint64:
      return "uint64";
    case GgufType::kInt64:
      return "int64";
    case GgufType::kFloat64:
      return "float64";
  }
  return "unknown";
}

bool GgufIsValidType(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::kFloat64); }

bool GgufIsInteger(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kUint16:
    case GgufType::kInt16:
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kUint64:
    case GgufType::kInt64:
      return true;
    default:
      return false;
  }
}

bool GgufIsUnsigned(GgufType t) {
  return t == GgufType::kUint8 || t == GgufType::kUint16 || t == GgufType::kUint32 ||
         t == GgufType::kUint64;
}

uint64_t GgufMinEncodedSize(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      return 1;
    case GgufType::kUint16:
    case GgufType::kInt16:
      return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32:
      return 4;
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
    case GgufType::kString:  // the u64 length
      return 8;
    case GgufType::kArray:  // u32 element type + u64 count
      return 12;
  }
  return 1;
}

namespace {

constexpr uint32_t kMaxDims = 4;
// A kv needs at least: key length (8) + a 1-byte key + value type (4) + a 1-byte value.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;
// A tensor info needs at least: name length (8) + n_dims (4) + one dim (8) + type (4) + offset (8).
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

class Parser {
 public:
  Parser(const uint8_t* data, uint64_t size) : r_(data, size, "gguf") {}

  ByteReader& reader() { return r_; }

  // Reads one value of `type` (already validated) into `out`; `ctx` names the key for errors.
  absl::Status ParseValue(GgufType type, int depth, std::string_view ctx, GgufValue* out) {
    out->type = type;
    switch (type) {
      case GgufType::kUint8: {
        absl::StatusOr<uint8_t> v = r_.U8(ctx);
        if (!v.ok()) return v.status();
        out->value = static_cast<uint64_t>(*v);
        return absl::OkStatus();
      }
      case GgufType::kInt8: {
        absl::StatusOr<uint8_t> v = r_.U8(ctx);
        if (!v.ok()) return v.status();
        out->value = static_cast<int64_t>(static_cast<int8_t>(*v));
        return absl::OkStatus();
      }
      case GgufType::kUint16: {
        absl::StatusOr<uint16_t> v = r_.U16(ctx);
        if (!v.ok()) return v.status();
        out->value = static_cast<uint64_t>(*v);
        return absl::OkStatus();
      }
      case GgufType::kInt16: {
        absl::StatusOr<uint16_t> v = r_.U16(ctx);
        if (!v.ok()) return v.status();
        out->value = static_cast<int64_t>(static_cast<int16_t>(*v));
        return absl::OkStatus();
      }
      case GgufType::kUint32: {
        absl::StatusOr<uint32_t> v = r_.U32(ctx);
        if (!v.ok()) return v.status();
        out->value = static_cast<uint64_t>(*v);
        return absl::OkStatus();
      }
      case GgufType::kInt32: {
        absl::StatusOr<uint32_t> v = r_.U32(ctx);
        if (!v.ok()) return v.status();
        out->value = static_cast<int64_t>(static_cast<int32_t>(*v));
        return absl::OkStatus();
      }
      case GgufType::kUint64: {
        absl::StatusOr<uint64_t> v = r_.U64(ctx);
        if (!v.ok()) return v.status();
        out->value = *v;
        return absl::OkStatus();
      }
      case GgufType::kInt64: {
        absl::StatusOr<uint64_t> v = r_.U64(ctx);
        if (!v.ok()) return v.status();
        out->value = static_cast<int64_t>(*v);
        return absl::OkStatus();
      }
      case GgufType::kFloat32: {
        absl::StatusOr<uint32_t> v = r_.U32(ctx);
        if (!v.ok()) return v.status();
        out->value = static_cast<double>(std::bit_cast<float>(*v));
        return absl::OkStatus();
      }
      case GgufType::kFloat64: {
        absl::StatusOr<uint64_t> v = r_.U64(ctx);
        if (!v.ok()) return v.status();
        out->value = std::bit_cast<double>(*v);
        return absl::OkStatus();
      }
      case GgufType::kBool: {
        const uint64_t at = r_.pos();
        absl::StatusOr<uint8_t> v = r_.U8(ctx);
        if (!v.ok()) return v.status();
        if (*v > 1) {
          return r_.Invalid(at, absl::StrFormat("%s: bool value %d is neither 0 nor 1", ctx, *v));
        }
        out->value = *v != 0;
        return absl::OkStatus();
      }
      case GgufType::kString: {
        absl::StatusOr<std::string> v = r_.String(ctx);
        if (!v.ok()) return v.status();
        out->value = std::move(*v);
        return absl::OkStatus();
      }
      case GgufType::kArray:
        return ParseArray(depth, ctx, out);
    }
    return r_.Invalid(r_.pos(), absl::StrFormat("%s: unknown value type", ctx));
  }

 private:
  absl::Status ParseArray(int depth, std::string_view ctx, GgufValue* out) {
    const uint64_t at = r_.pos();
    if (depth >= kGgufMaxArrayDepth) {
      return r_.Invalid(
          at, absl::StrFormat("%s: arrays nested deeper than %d levels", ctx, kGgufMaxArrayDepth));
    }
    absl::StatusOr<uint32_t> elem = r_.U32(ctx);
    if (!elem.ok()) return elem.status();
    if (!GgufIsValidType(*elem)) {
      return r_.Invalid(at, absl::StrFormat("%s: unknown array element type %d", ctx, *elem));
    }
    const GgufType elem_type = static_cast<GgufType>(*elem);
    const uint64_t count_at = r_.pos();
    absl::StatusOr<uint64_t> count = r_.U64(ctx);
    if (!count.ok()) return count.status();
    const uint64_t min_size = GgufMinEncodedSize(elem_type);
    if (*count > r_.remaining() / min_size) {
      return r_.ErrorAt(
          count_at, absl::StatusCode::kDataLoss,
          absl::StrFormat("%s: array length %d exceeds remaining %d bytes (each %s element needs "
                          "at least %d bytes)",
                          ctx, *count, r_.remaining(), GgufTypeName(elem_type), min_size));
    }
    if (*count > kGgufMaxMetadataElements - elements_) {
      return r_.ErrorAt(count_at, absl::StatusCode::kResourceExhausted,
                        absl::StrFormat("%s: array length %d exceeds the limit of %d metadata "
                                        "array elements in one file",
                                        ctx, *count, kGgufMaxMetadataElements));
    }
    elements_ += *count;
    GgufArray arr;
    arr.element_type = elem_type;
    arr.values.resize(static_cast<size_t>(*count));
    for (size_t i = 0; i < arr.values.size(); ++i) {
      absl::Status s = ParseValue(elem_type, depth + 1, ctx, &arr.values[i]);
      if (!s.ok()) {
        // Innermost array first, e.g. "(array element 3) (array element 0)".
        return absl::Status(s.code(), absl::StrCat(s.message(), " (array element ", i, ")"));
      }
    }
    out->value = std::move(arr);
    return absl::OkStatus();
  }

  ByteReader r_;
  uint64_t elements_ = 0;  // metadata array elements so far (<= kGgufMaxMetadataElements)
};

absl::Status TensorError(absl::StatusCode code, const std::string& name, std::string_view msg) {
  return absl::Status(code, absl::StrFormat("gguf: tensor %s: %s", GgufQuote(name), msg));
}

std::string DimsString(const std::vector<int64_t>& dims) {
  return absl::StrCat("[", absl::StrJoin(dims, ", "), "]");
}

absl::Status KeyError(absl::StatusCode code, std::string_view key, std::string_view msg) {
  return absl::Status(code, absl::StrFormat("gguf: key %s: %s", GgufQuote(key), msg));
}

absl::Status TypeMismatch(std::string_view key, std::string_view expected, const GgufValue& v) {
  std::string found(GgufTypeName(v.type));
  if (v.type == GgufType::kArray) {
    if (const auto* arr = std::get_if<GgufArray>(&v.value)) {
      found = absl::StrCat("array of ", AsAbsl(GgufTypeName(arr->element_type)));
    }
  }
  return KeyError(absl::StatusCode::kInvalidArgument, key,
                  absl::StrFormat("expected %s, found %s", expected, found));
}

// An integer value as int64; error (naming the key) when it is not an integer or does not fit.
absl::StatusOr<int64_t> ValueAsInt(std::string_view key, const GgufValue& v) {
  if (!GgufIsInteger(v.type)) return TypeMismatch(key, "an integer", v);
  if (const auto* u = std::get_if<uint64_t>(&v.value)) {
    if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return KeyError(absl::StatusCode::kInvalidArgument, key,
                      absl::StrFormat("value %d does not fit in int64", *u));
    }
    return static_cast<int64_t>(*u);
  }
  if (const auto* i = std::get_if<int64_t>(&v.value)) return *i;
  return TypeMismatch(key, "an integer", v);
}

absl::StatusOr<double> ValueAsFloat(std::string_view key, const GgufValue& v) {
  if (v.type == GgufType::kFloat32 || v.type == GgufType::kFloat64) {
    if (const auto* d = std::get_if<double>(&v.value)) return *d;
  } else if (GgufIsInteger(v.type)) {
    if (const auto* u = std::get_if<uint64_t>(&v.value)) return static_cast<double>(*u);
    if (const auto* i = std::get_if<int64_t>(&v.value)) return static_cast<double>(*i);
  }
  return TypeMismatch(key, "a float or integer", v);
}

}  // namespace

absl::StatusOr<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path, MapMode mode) {
  absl::StatusOr<std::shared_ptr<MappedFile>> file = MappedFile::Open(path, mode);
  if (!file.ok()) {
    return absl::Status(file.status().code(), absl::StrCat("gguf: ", file.status().message()));
  }
  absl::StatusOr<std::unique_ptr<GgufFile>> parsed = Parse(*std::move(file));
  if (!parsed.ok()) {
    return absl::Status(parsed.status().code(),
                        absl::StrCat(parsed.status().message(), " (in ", path, ")"));
  }
  return parsed;
}

absl::StatusOr<std::unique_ptr<GgufFile>> GgufFile::Parse(std::shared_ptr<MappedFile> file) {
  if (file == nullptr) return absl::InvalidArgumentError("gguf: no file given");
  std::unique_ptr<GgufFile> g(new GgufFile());
  g->file_ = std::move(file);
  const uint8_t* base = g->file_->data();
  const uint64_t size = g->file_->size();
  Parser parser(base, size);
  ByteReader& r = parser.reader();

  // ---- header ----
  if (size < 4) {
    return absl::DataLossError(
        absl::StrFormat("gguf: file of %d bytes is too small to hold the 'GGUF' magic", size));
  }
  if (std::memcmp(base, "GGUF", 4) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("gguf: at offset 0: bad magic %s (expected 'GGUF'): not a GGUF file",
                        GgufQuote(std::string_view(reinterpret_cast<const char*>(base), 4))));
  }
  (void)r.Skip(4, "magic");
  absl::StatusOr<uint32_t> version = r.U32("version");
  if (!version.ok()) return version.status();
  if (*version != 2 && *version != 3) {
    if (*version == 1) {
      return r.Invalid(4,
                       "GGUF version 1 is not supported (only versions 2 and 3 are; "
                       "re-convert the model with a current llama.cpp)");
    }
    if ((*version & 0xFFFFu) == 0 && (*version >> 16) != 0) {
      return r.Invalid(4, absl::StrFormat("GGUF version field 0x%08x looks big-endian; only "
                                          "little-endian GGUF files are supported",
                                          *version));
    }
    return r.Invalid(4, absl::StrFormat("unsupported GGUF version %d (supported: 2, 3)", *version));
  }
  g->version_ = *version;
  absl::StatusOr<uint64_t> tensor_count = r.U64("tensor count");
  if (!tensor_count.ok()) return tensor_count.status();
  absl::StatusOr<uint64_t> kv_count = r.U64("metadata kv count");
  if (!kv_count.ok()) return kv_count.status();
  {
    const uint64_t rem = r.remaining();
    if (*tensor_count > rem / kMinTensorInfoBytes) {
      return r.ErrorAt(8, absl::StatusCode::kDataLoss,
                       absl::StrFormat("tensor count %d is impossible: each tensor info needs at "
                                       "least %d bytes and only %d bytes remain",
                                       *tensor_count, kMinTensorInfoBytes, rem));
    }
    if (*kv_count > rem / kMinKvBytes) {
      return r.ErrorAt(16, absl::StatusCode::kDataLoss,
                       absl::StrFormat("metadata kv count %d is impossible: each kv needs at least "
                                       "%d bytes and only %d bytes remain",
                                       *kv_count, kMinKvBytes, rem));
    }
    // Both products are <= rem, so the sum cannot overflow.
    if (*tensor_count * kMinTensorInfoBytes + *kv_count * kMinKvBytes > rem) {
      return r.ErrorAt(
          8, absl::StatusCode::kDataLoss,
          absl::StrFormat("tensor count %d and kv count %d need at least %d bytes, "
                          "only %d remain",
                          *tensor_count, *kv_count,
                          *tensor_count * kMinTensorInfoBytes + *kv_count * kMinKvBytes, rem));
    }
  }

  // ---- metadata ----
  g->kvs_.reserve(static_cast<size_t>(*kv_count));
  for (uint64_t i = 0; i < *kv_count; ++i) {
    const uint64_t at = r.pos();
    const std::string what = absl::StrFormat("key of kv %d", i);
    absl::StatusOr<std::string> key = r.String(what);
    if (!key.ok()) return key.status();
    if (key->empty()) return r.Invalid(at, absl::StrFormat("kv %d: empty key", i));
    if (auto it = g->kv_index_.find(*key); it != g->kv_index_.end()) {
      return r.Invalid(at, absl::StrFormat("duplicate key %s (kv %d and kv %d)", GgufQuote(*key),
                                           it->second, i));
    }
    const std::string ctx = absl::StrFormat("kv %d %s", i, GgufQuote(*key));
    const uint64_t type_at = r.pos();
    absl::StatusOr<uint32_t> type = r.U32(ctx);
    if (!type.ok()) return type.status();
    if (!GgufIsValidType(*type)) {
      return r.Invalid(type_at, absl::StrFormat("%s: unknown value type %d", ctx, *type));
    }
    GgufKeyValue kv;
    kv.key = *std::move(key);
    absl::Status s = parser.ParseValue(static_cast<GgufType>(*type), 0, ctx, &kv.value);
    if (!s.ok()) return s;
    g->kv_index_.emplace(kv.key, g->kvs_.size());
    g->kvs_.push_back(std::move(kv));
  }

  // ---- alignment ----
  if (const GgufValue* a = g->Find("general.alignment"); a != nullptr) {
    if (a->type != GgufType::kUint32) {
      return KeyError(absl::StatusCode::kInvalidArgument, "general.alignment",
                      absl::StrFormat("must be uint32, found %s", GgufTypeName(a->type)));
    }
    const uint64_t* av = std::get_if<uint64_t>(&a->value);
    const uint64_t align = av == nullptr ? 0 : *av;
    if (align == 0 || !std::has_single_bit(align)) {
      return KeyError(absl::StatusCode::kInvalidArgument, "general.alignment",
                      absl::StrFormat("alignment %d is not a non-zero power of two", align));
    }
    g->alignment_ = align;
  } else {
    g->alignment_ = kGgufDefaultAlignment;
  }

  // ---- tensor infos ----
  g->tensors_.reserve(static_cast<size_t>(*tensor_count));
  for (uint64_t i = 0; i < *tensor_count; ++i) {
    const uint64_t at = r.pos();
    absl::StatusOr<std::string> name = r.String(absl::StrFormat("name of tensor %d", i));
    if (!name.ok()) return name.status();
    if (name->empty()) return r.Invalid(at, absl::StrFormat("tensor %d: empty name", i));
    if (auto it = g->tensor_index_.find(*name); it != g->tensor_index_.end()) {
      return r.Invalid(at, absl::StrFormat("duplicate tensor name %s (tensors %d and %d)",
                                           GgufQuote(*name), it->second, i));
    }
    const std::string ctx = absl::StrFormat("tensor %d %s", i, GgufQuote(*name));
    const uint64_t ndims_at = r.pos();
    absl::StatusOr<uint32_t> n_dims = r.U32(ctx);
    if (!n_dims.ok()) return n_dims.status();
    if (*n_dims == 0 || *n_dims > kMaxDims) {
      return r.Invalid(
          ndims_at, absl::StrFormat("%s: n_dims %d out of range [1, %d]", ctx, *n_dims, kMaxDims));
    }
    GgufTensorInfo info;
    info.name = *std::move(name);
    info.dims.reserve(*n_dims);
    for (uint32_t d = 0; d < *n_dims; ++d) {
      const uint64_t dim_at = r.pos();
      absl::StatusOr<uint64_t> dim = r.U64(ctx);
      if (!dim.ok()) return dim.status();
      if (*dim == 0) {
        return r.Invalid(dim_at, absl::StrFormat("%s: dims[%d] is 0", ctx, d));
      }
      if (*dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return r.Invalid(dim_at, absl::StrFormat("%s: dims[%d] = %d (as int64: %d) is not a "
                                                 "positive int64",
                                                 ctx, d, *dim, static_cast<int64_t>(*dim)));
      }
      info.dims.push_back(static_cast<int64_t>(*dim));
    }
    const uint64_t type_at = r.pos();
    absl::StatusOr<uint32_t> type_id = r.U32(ctx);
    if (!type_id.ok()) return type_id.status();
    const std::optional<DTypeTraits> traits = GetDTypeTraits(*type_id);
    if (!traits.has_value()) {
      return r.Invalid(type_at, absl::StrFormat("%s: unknown tensor type id %d", ctx, *type_id));
    }
    info.type = traits->type;
    absl::StatusOr<uint64_t> offset = r.U64(ctx);
    if (!offset.ok()) return offset.status();
    info.offset = *offset;

    // Element count and byte size, overflow-checked.
    int64_t n = 1;
    for (int64_t d : info.dims) {
      if (__builtin_mul_overflow(n, d, &n)) {
        return r.Invalid(ndims_at, absl::StrFormat("%s: element count of dims %s overflows int64",
                                                   ctx, DimsString(info.dims)));
      }
    }
    info.n_elements = n;
    if (traits->block_size <= 0 || traits->type_size <= 0) {
      return r.Invalid(
          type_at, absl::StrFormat("%s: tensor type %s has no storage size", ctx, traits->name));
    }
    if (info.dims[0] % traits->block_size != 0) {
      return r.Invalid(ndims_at,
                       absl::StrFormat("%s: dims[0] = %d is not a multiple of the block size %d "
                                       "of type %s",
                                       ctx, info.dims[0], traits->block_size, traits->name));
    }
    uint64_t bytes = static_cast<uint64_t>(info.dims[0] / traits->block_size);
    bool overflow = __builtin_mul_overflow(bytes, static_cast<uint64_t>(traits->type_size), &bytes);
    for (size_t d = 1; d < info.dims.size() && !overflow; ++d) {
      overflow = __builtin_mul_overflow(bytes, static_cast<uint64_t>(info.dims[d]), &bytes);
    }
    if (overflow || bytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return r.Invalid(ndims_at, absl::StrFormat("%s: byte size of %s dims %s overflows", ctx,
                                                 traits->name, DimsString(info.dims)));
    }
    info.n_bytes = bytes;
    g->tensor_index_.emplace(info.name, g->tensors_.size());
    g->tensors_.push_back(std::move(info));
  }

  // ---- tensor data ----
  // r.pos() <= size < 2^64 and alignment <= 2^31, so rounding up cannot overflow meaningfully;
  // check anyway.
  uint64_t data_offset = r.pos();
  if (const uint64_t rem = data_offset % g->alignment_; rem != 0) {
    if (__builtin_add_overflow(data_offset, g->alignment_ - rem, &data_offset)) {
      return absl::DataLossError("gguf: data section offset overflows");
    }
  }
  g->data_offset_ = data_offset;
  for (const GgufTensorInfo& t : g->tensors_) {
    if (t.offset % g->alignment_ != 0) {
      return TensorError(absl::StatusCode::kInvalidArgument, t.name,
                         absl::StrFormat("data offset %d is not a multiple of the alignment %d",
                                         t.offset, g->alignment_));
    }
    const absl::uint128 start = absl::uint128(data_offset) + t.offset;
    const absl::uint128 end = start + t.n_bytes;
    if (end > absl::uint128(size)) {
      return TensorError(
          absl::StatusCode::kDataLoss, t.name,
          absl::StrFormat("data [%d, %d) extends past end of file (size %d)", start, end, size));
    }
  }
  std::vector<size_t> order(g->tensors_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return g->tensors_[a].offset < g->tensors_[b].offset; });
  for (size_t k = 1; k < order.size(); ++k) {
    const GgufTensorInfo& prev = g->tensors_[order[k - 1]];
    const GgufTensorInfo& cur = g->tensors_[order[k]];
    // Both ranges are inside the file, so these sums cannot overflow.
    if (prev.offset + prev.n_bytes > cur.offset) {
      const uint64_t cur_start = data_offset + cur.offset;
      const uint64_t prev_start = data_offset + prev.offset;
      return TensorError(absl::StatusCode::kInvalidArgument, cur.name,
                         absl::StrFormat("data [%d, %d) overlaps tensor %s at [%d, %d)", cur_start,
                                         cur_start + cur.n_bytes, GgufQuote(prev.name), prev_start,
                                         prev_start + prev.n_bytes));
    }
  }
  return g;
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  auto it = kv_index_.find(AsAbsl(key));
  if (it == kv_index_.end()) return nullptr;
  return &kvs_[it->second].value;
}

namespace {
absl::Status NotFoundKey(std::string_view key) {
  return absl::NotFoundError(absl::StrFormat("gguf: key %s not found", GgufQuote(key)));
}
}  // namespace

absl::StatusOr<std::string> GgufFile::GetString(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFoundKey(key);
  if (v->type == GgufType::kString) {
    if (const auto* s = std::get_if<std::string>(&v->value)) return *s;
  }
  return TypeMismatch(key, "string", *v);
}

absl::StatusOr<int64_t> GgufFile::GetInt(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFoundKey(key);
  return ValueAsInt(key, *v);
}

absl::StatusOr<uint64_t> GgufFile::GetUint(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFoundKey(key);
  if (!GgufIsInteger(v->type)) return TypeMismatch(key, "an integer", *v);
  if (const auto* u = std::get_if<uint64_t>(&v->value)) return *u;
  if (const auto* i = std::get_if<int64_t>(&v->value)) {
    if (*i < 0) {
      return KeyError(absl::StatusCode::kInvalidArgument, key,
                      absl::StrFormat("negative value %d where an unsigned one is expected", *i));
    }
    return static_cast<uint64_t>(*i);
  }
  return TypeMismatch(key, "an integer", *v);
}

absl::StatusOr<double> GgufFile::GetFloat(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFoundKey(key);
  return ValueAsFloat(key, *v);
}

absl::StatusOr<bool> GgufFile::GetBool(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFoundKey(key);
  if (v->type == GgufType::kBool) {
    if (const auto* b = std::get_if<bool>(&v->value)) return *b;
  }
  return TypeMismatch(key, "bool", *v);
}

absl::StatusOr<std::vector<std::string>> GgufFile::GetStringArray(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFoundKey(key);
  const auto* arr = std::get_if<GgufArray>(&v->value);
  if (v->type != GgufType::kArray || arr == nullptr || arr->element_type != GgufType::kString) {
    return TypeMismatch(key, "array of string", *v);
  }
  std::vector<std::string> out;
  out.reserve(arr->values.size());
  for (const GgufValue& e : arr->values) {
    const auto* s = std::get_if<std::string>(&e.value);
    if (s == nullptr) return TypeMismatch(key, "array of string", *v);
    out.push_back(*s);
  }
  return out;
}

absl::StatusOr<std::vector<double>> GgufFile::GetFloatArray(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFoundKey(key);
  const auto* arr = std::get_if<GgufArray>(&v->value);
  if (v->type != GgufType::kArray || arr == nullptr ||
      !(arr->element_type == GgufType::kFloat32 || arr->element_type == GgufType::kFloat64 ||
        GgufIsInteger(arr->element_type))) {
    return TypeMismatch(key, "array of float or integer", *v);
  }
  std::vector<double> out;
  out.reserve(arr->values.size());
  for (const GgufValue& e : arr->values) {
    absl::StatusOr<double> d = ValueAsFloat(key, e);
    if (!d.ok()) return d.status();
    out.push_back(*d);
  }
  return out;
}

absl::StatusOr<std::vector<int64_t>> GgufFile::GetIntArray(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFoundKey(key);
  const auto* arr = std::get_if<GgufArray>(&v->value);
  if (v->type != GgufType::kArray || arr == nullptr || !GgufIsInteger(arr->element_type)) {
    return TypeMismatch(key, "array of integer", *v);
  }
  std::vector<int64_t> out;
  out.reserve(arr->values.size());
  for (size_t i = 0; i < arr->values.size(); ++i) {
    absl::StatusOr<int64_t> n = ValueAsInt(key, arr->values[i]);
    if (!n.ok()) {
      return absl::Status(n.status().code(),
                          absl::StrCat(n.status().message(), " (element ", i, ")"));
    }
    out.push_back(*n);
  }
  return out;
}

absl::StatusOr<TensorView> GgufFile::GetTensor(std::string_view name) const {
  auto it = tensor_index_.find(AsAbsl(name));
  if (it == tensor_index_.end()) {
    return absl::NotFoundError(absl::StrFormat("gguf: tensor %s not found", GgufQuote(name)));
  }
  const GgufTensorInfo& info = tensors_[it->second];
  TensorView v;
  v.name = info.name;
  v.type = info.type;
  v.dims = info.dims;
  v.n_elements = info.n_elements;
  v.n_bytes = info.n_bytes;
  // Validated at parse time: [data_offset_ + offset, + n_bytes) lies inside the file.
  v.data = file_->data() + data_offset_ + info.offset;
  v.file = file_;
  return v;
}

bool GgufFile::HasTensor(std::string_view name) const {
  return tensor_index_.contains(AsAbsl(name));
}

}  // namespace fathom
