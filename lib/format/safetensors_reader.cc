// safetensors parser: validates the untrusted header (JSON syntax, field types, dtypes, shapes,
// offsets, overlaps, duplicate names) before exposing zero-copy tensor views into the mapping.
#include "format/safetensors_reader.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace fathom {
namespace {

using Json = nlohmann::json;

// The safetensors reference implementation refuses headers over 100 MB too.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// A valid header nests three deep (object > entry > shape); leave room for odd metadata.
constexpr int kMaxHeaderDepth = 16;

absl::string_view AsAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Printable, length-limited quoting of an untrusted name (paths get a larger limit).
std::string Quote(std::string_view s, size_t max_shown = 80) {
  if (s.size() <= max_shown) return absl::StrCat("'", absl::CHexEscape(AsAbsl(s)), "'");
  return absl::StrCat("'", absl::CHexEscape(AsAbsl(s.substr(0, max_shown))), "'... (", s.size(),
                      " bytes)");
}

// Keeps printable ASCII, writes every other byte as \xNN (for text quoted from untrusted input).
std::string Printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out.push_back(c);
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", u);
    }
  }
  return out;
}

// A short description of a JSON value for error messages: numbers verbatim, else the type.
std::string Describe(const Json& v) {
  if (v.is_number()) return v.dump();
  return absl::StrCat("a JSON ", v.type_name());
}

// SAX pass that only checks syntax, depth and duplicate keys; stops at the first problem.
class JsonChecker : public nlohmann::json_sax<Json> {
 public:
  JsonChecker(int max_depth, bool reject_duplicate_keys)
      : max_depth_(max_depth), reject_duplicate_keys_(reject_duplicate_keys) {}

  const std::string& error() const { return error_; }

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    if (!Enter()) return false;
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& k) override {
    if (!reject_duplicate_keys_ || keys_.empty()) return true;
    if (!keys_.back().insert(k).second) {
      error_ = absl::StrFormat("duplicate key %s in a JSON object at depth %d", Quote(k), depth_);
      return false;
    }
    return true;
  }
  bool end_object() override {
    if (!keys_.empty()) keys_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override { return Enter(); }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    std::string what = ex.what();
    constexpr size_t kMaxWhat = 300;
    if (what.size() > kMaxWhat) what = what.substr(0, kMaxWhat) + "...";
    error_ = absl::StrFormat("not valid JSON (at byte %d): %s", position, Printable(what));
    return false;
  }

 private:
  bool Enter() {
    if (++depth_ > max_depth_) {
      error_ = absl::StrFormat("JSON nested deeper than %d levels", max_depth_);
      return false;
    }
    return true;
  }

  int max_depth_;
  bool reject_duplicate_keys_;
  int depth_ = 0;
  std::vector<absl::flat_hash_set<std::string>> keys_;
  std::string error_;
};

// Maps a safetensors dtype name to fathom's type; nullopt when fathom has no such type.
std::optional<DType> DTypeFromSafetensors(std::string_view name) {
  if (name == "F32") return DType::kF32;
  if (name == "F16") return DType::kF16;
  if (name == "BF16") return DType::kBF16;
  if (name == "F8_E4M3") return DType::kF8_E4M3;
  if (name == "I8") return DType::kI8;
  if (name == "I16") return DType::kI16;
  if (name == "I32") return DType::kI32;
  if (name == "I64") return DType::kI64;
  if (name == "F64") return DType::kF64;
  return std::nullopt;
}

// Dtypes the safetensors format defines that fathom cannot represent.
bool IsKnownSafetensorsDType(std::string_view name) {
  for (std::string_view n : {"BOOL", "U8", "U16", "U32", "U64", "F8_E5M2", "F8_E8M0", "F6_E2M3",
                             "F6_E3M2", "F4", "C64"}) {
    if (name == n) return true;
  }
  return false;
}

// Reads a JSON number that must be a non-negative integer fitting in int64.
std::optional<uint64_t> NonNegativeInt(const Json& v) {
  if (!v.is_number_unsigned()) return std::nullopt;
  const uint64_t u = v.get<uint64_t>();  // type checked above: does not throw
  if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return u;
}

struct Span {
  uint64_t begin = 0;
  uint64_t end = 0;
};

}  // namespace

absl::Status CheckJsonText(std::string_view text, int max_depth, bool reject_duplicate_keys) {
  // nlohmann's lexer takes a NUL byte for the end of input; valid JSON never holds a raw NUL.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrFormat("not valid JSON: NUL byte at byte %d of %d", nul, text.size()));
  }
  JsonChecker checker(max_depth, reject_duplicate_keys);
  const bool ok = Json::sax_parse(text.data(), text.data() + text.size(), &checker);
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(checker.error().empty() ? std::string("not valid JSON")
                                                            : checker.error());
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  absl::StatusOr<std::shared_ptr<MappedFile>> file = MappedFile::Open(path);
  if (!file.ok()) {
    return absl::Status(file.status().code(),
                        absl::StrCat("safetensors: ", file.status().message()));
  }
  return Parse(*std::move(file));
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Parse(
    std::shared_ptr<MappedFile> file) {
  if (file == nullptr) return absl::InvalidArgumentError("safetensors: no file");
  const std::string prefix = absl::StrCat("safetensors ", Quote(file->path(), 1024));
  auto error = [&](absl::StatusCode code, std::string_view msg) {
    return absl::Status(code, absl::StrCat(prefix, ": ", AsAbsl(msg)));
  };
  auto tensor_error = [&](absl::StatusCode code, std::string_view name, std::string_view msg) {
    return absl::Status(code, absl::StrCat(prefix, ": tensor ", Quote(name), ": ", AsAbsl(msg)));
  };

  const uint64_t size = file->size();
  const uint8_t* bytes = file->data();
  if (size < 8 || bytes == nullptr) {
    return error(absl::StatusCode::kDataLoss,
                 absl::StrFormat("truncated: file of %d bytes is shorter than the 8-byte header "
                                 "length",
                                 size));
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  if (header_len > kMaxHeaderBytes) {
    return error(absl::StatusCode::kInvalidArgument,
                 absl::StrFormat("header length %d exceeds the limit of %d bytes", header_len,
                                 kMaxHeaderBytes));
  }
  if (header_len > size - 8) {
    return error(absl::StatusCode::kDataLoss,
                 absl::StrFormat("truncated: header length %d exceeds the %d bytes after the "
                                 "length field",
                                 header_len, size - 8));
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes + 8),
                              static_cast<size_t>(header_len));
  if (absl::Status s = CheckJsonText(text, kMaxHeaderDepth, /*reject_duplicate_keys=*/true);
      !s.ok()) {
    return error(absl::StatusCode::kInvalidArgument, absl::StrCat("header: ", s.message()));
  }
  const Json header =
      Json::parse(text.data(), text.data() + text.size(), nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) {
    return error(absl::StatusCode::kInvalidArgument, "header: not valid JSON");
  }
  if (!header.is_object()) {
    return error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat("header is ", Describe(header), ", not a JSON object"));
  }

  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = size - data_start;
  std::unique_ptr<SafetensorsFile> out(new SafetensorsFile());
  std::vector<Span> spans;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) {
        return error(absl::StatusCode::kInvalidArgument,
                     absl::StrCat("__metadata__ is ", Describe(entry), ", not a JSON object"));
      }
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) {
          return error(absl::StatusCode::kInvalidArgument,
                       absl::StrCat("__metadata__ key ", Quote(key), " is ", Describe(value),
                                    ", not a string"));
        }
        out->metadata_[key] = value.get_ref<const std::string&>();
      }
      continue;
    }
    auto bad = [&, &name = name](std::string_view msg) {  // clang < 16: no binding captures
      return tensor_error(absl::StatusCode::kInvalidArgument, name, msg);
    };
    if (!entry.is_object()) {
      return bad(absl::StrCat("entry is ", Describe(entry), ", not a JSON object"));
    }
    SafetensorsTensor t;
    t.name = name;

    // dtype
    const auto dtype_it = entry.find("dtype");
    if (dtype_it == entry.end()) return bad("missing field 'dtype'");
    if (!dtype_it->is_string()) {
      return bad(absl::StrCat("field 'dtype' is ", Describe(*dtype_it), ", not a string"));
    }
    t.dtype_name = dtype_it->get_ref<const std::string&>();
    const std::optional<DType> type = DTypeFromSafetensors(t.dtype_name);
    if (!type.has_value()) {
      return tensor_error(
          IsKnownSafetensorsDType(t.dtype_name) ? absl::StatusCode::kUnimplemented
                                                : absl::StatusCode::kInvalidArgument,
          name,
          absl::StrCat(IsKnownSafetensorsDType(t.dtype_name) ? "unsupported" : "unknown", " dtype ",
                       Quote(t.dtype_name),
                       " (supported: F32, F16, BF16, F8_E4M3, I8, I16, I32, I64, F64)"));
    }
    t.type = *type;

    // shape
    const auto shape_it = entry.find("shape");
    if (shape_it == entry.end()) return bad("missing field 'shape'");
    if (!shape_it->is_array()) {
      return bad(absl::StrCat("field 'shape' is ", Describe(*shape_it), ", not an array"));
    }
    uint64_t n_elements = 1;
    for (size_t i = 0; i < shape_it->size(); ++i) {
      const Json& d = (*shape_it)[i];
      const std::optional<uint64_t> dim = NonNegativeInt(d);
      if (!dim.has_value()) {
        return bad(
            absl::StrFormat("shape[%d] is %s, not a non-negative 64-bit integer", i, Describe(d)));
      }
      const absl::uint128 product = absl::uint128(n_elements) * *dim;
      if (product > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return bad(absl::StrFormat("element count of shape overflows at shape[%d] = %d", i, *dim));
      }
      n_elements = absl::Uint128Low64(product);
      t.shape.push_back(static_cast<int64_t>(*dim));
    }
    t.n_elements = static_cast<int64_t>(n_elements);
    const absl::uint128 n_bytes =
        absl::uint128(n_elements) * static_cast<uint64_t>(Traits(t.type).type_size);
    if (n_bytes > std::numeric_limits<uint64_t>::max()) {
      return bad(
          absl::StrFormat("%d elements of %s overflow the byte count", n_elements, t.dtype_name));
    }
    t.n_bytes = absl::Uint128Low64(n_bytes);

    // data_offsets
    const auto off_it = entry.find("data_offsets");
    if (off_it == entry.end()) return bad("missing field 'data_offsets'");
    if (!off_it->is_array() || off_it->size() != 2) {
      return bad(absl::StrCat("field 'data_offsets' is ",
                              off_it->is_array()
                                  ? absl::StrFormat("an array of %d values", off_it->size())
                                  : Describe(*off_it),
                              ", not an array [begin, end]"));
    }
    const std::optional<uint64_t> begin = NonNegativeInt((*off_it)[0]);
    const std::optional<uint64_t> end = NonNegativeInt((*off_it)[1]);
    if (!begin.has_value() || !end.has_value()) {
      return bad(absl::StrFormat("data_offsets [%s, %s] are not both non-negative 64-bit integers",
                                 Describe((*off_it)[0]), Describe((*off_it)[1])));
    }
    if (*begin > *end) {
      return bad(absl::StrFormat("data_offsets begin %d is after end %d", *begin, *end));
    }
    if (*end > data_size) {
      return tensor_error(
          absl::StatusCode::kDataLoss, name,
          absl::StrFormat("truncated: data_offsets [%d, %d] end past the data section of %d bytes "
                          "(file size %d, data starts at %d)",
                          *begin, *end, data_size, size, data_start));
    }
    if (*end - *begin != t.n_bytes) {
      return bad(absl::StrFormat(
          "shape [%s] of %s needs %d bytes but data_offsets [%d, %d] span %d bytes",
          [&] {
            std::string s;
            for (size_t i = 0; i < t.shape.size(); ++i) {
              absl::StrAppend(&s, i == 0 ? "" : ", ", t.shape[i]);
            }
            return s;
          }(),
          t.dtype_name, t.n_bytes, *begin, *end, *end - *begin));
    }
    t.data = bytes + data_start + *begin;
    out->tensors_.push_back(std::move(t));
    spans.push_back(Span{*begin, *end});
  }

  // Sort by data offset and reject overlapping byte ranges (empty tensors overlap nothing).
  std::vector<size_t> order(out->tensors_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (spans[a].begin != spans[b].begin) return spans[a].begin < spans[b].begin;
    if (spans[a].end != spans[b].end) return spans[a].end < spans[b].end;
    return out->tensors_[a].name < out->tensors_[b].name;
  });
  std::optional<size_t> last_nonempty;
  for (size_t i : order) {
    if (spans[i].begin == spans[i].end) continue;
    if (last_nonempty.has_value() && spans[i].begin < spans[*last_nonempty].end) {
      const size_t p = *last_nonempty;
      return tensor_error(
          absl::StatusCode::kInvalidArgument, out->tensors_[i].name,
          absl::StrFormat("data_offsets [%d, %d] overlap tensor %s at [%d, %d]", spans[i].begin,
                          spans[i].end, Quote(out->tensors_[p].name), spans[p].begin,
                          spans[p].end));
    }
    last_nonempty = i;
  }
  std::vector<SafetensorsTensor> sorted;
  sorted.reserve(order.size());
  for (size_t i : order) sorted.push_back(std::move(out->tensors_[i]));
  out->tensors_ = std::move(sorted);
  for (size_t i = 0; i < out->tensors_.size(); ++i) {
    // Names are unique: CheckJsonText rejected duplicate keys.
    out->index_.emplace(out->tensors_[i].name, i);
  }
  out->file_ = std::move(file);
  return out;
}

const SafetensorsTensor* SafetensorsFile::Find(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) return nullptr;
  return &tensors_[it->second];
}

}  // namespace fathom
