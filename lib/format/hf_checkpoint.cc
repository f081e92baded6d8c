// Hugging Face checkpoint folders: config.json plus one model.safetensors or an index of shards,
// every part validated (hostile shard names, missing shards, tensors missing or duplicated).
#include "format/hf_checkpoint.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "format/mapped_file.h"

namespace fathom {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kMaxJsonFileBytes = 64ull << 20;
constexpr int kMaxJsonDepth = 64;
constexpr char kConfigName[] = "config.json";
constexpr char kSingleName[] = "model.safetensors";
constexpr char kIndexName[] = "model.safetensors.index.json";

// Printable, length-limited quoting of an untrusted name (paths get a larger limit).
std::string Quote(std::string_view s, size_t max_shown = 80) {
  const absl::string_view a(s.data(), std::min(s.size(), max_shown));
  if (s.size() <= max_shown) return absl::StrCat("'", absl::CHexEscape(a), "'");
  return absl::StrCat("'", absl::CHexEscape(a), "'... (", s.size(), " bytes)");
}

std::string Join(const std::string& folder, std::string_view name) {
  if (folder.empty()) return std::string(name);
  if (folder.back() == '/')
    return absl::StrCat(folder, absl::string_view(name.data(), name.size()));
  return absl::StrCat(folder, "/", absl::string_view(name.data(), name.size()));
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Reads and parses a JSON file of the checkpoint; `name` is its name inside the folder.
absl::StatusOr<Json> ReadJsonFile(const std::string& folder, std::string_view name,
                                  bool reject_duplicate_keys) {
  const std::string path = Join(folder, name);
  absl::StatusOr<std::shared_ptr<MappedFile>> file = MappedFile::Open(path);
  if (!file.ok()) {
    return absl::Status(file.status().code(), absl::StrCat("checkpoint ", Quote(folder, 1024), ": ",
                                                           file.status().message()));
  }
  const std::string prefix = absl::StrCat("checkpoint ", Quote(folder, 1024), ": ",
                                          absl::string_view(name.data(), name.size()));
  if ((*file)->size() > kMaxJsonFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: file of %d bytes exceeds the limit of %d bytes", prefix,
                        (*file)->size(), kMaxJsonFileBytes));
  }
  const char* begin = reinterpret_cast<const char*>((*file)->data());
  const std::string_view text(begin == nullptr ? "" : begin, static_cast<size_t>((*file)->size()));
  if (absl::Status s = CheckJsonText(text, kMaxJsonDepth, reject_duplicate_keys); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, ": ", s.message()));
  }
  Json json =
      Json::parse(text.data(), text.data() + text.size(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return absl::InvalidArgumentError(prefix + ": not valid JSON");
  if (!json.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, ": is a JSON ", json.type_name(), ", not a JSON object"));
  }
  return json;
}

// A shard name from the index must name a file directly inside the folder.
bool IsPlainFileName(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  return name.find_first_of(std::string_view("/\\\0", 3)) == std::string_view::npos;
}

}  // namespace

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

absl::StatusOr<std::unique_ptr<HfCheckpoint>> HfCheckpoint::Open(const std::string& folder) {
  const std::string where = absl::StrCat("checkpoint ", Quote(folder, 1024));
  if (!Exists(folder)) return absl::NotFoundError(absl::StrCat(where, ": folder does not exist"));
  if (!IsDirectory(folder)) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": not a directory"));
  }
  std::unique_ptr<HfCheckpoint> out(new HfCheckpoint());
  out->folder_ = folder;

  if (!Exists(Join(folder, kConfigName))) {
    return absl::NotFoundError(absl::StrCat(where, ": no config.json"));
  }
  // Duplicate keys are tolerated here, as Python's json (last one wins, like nlohmann).
  absl::StatusOr<Json> config = ReadJsonFile(folder, kConfigName, false);
  if (!config.ok()) return config.status();
  out->config_ = *std::move(config);

  // Shard file name -> tensors the index assigns to it (one entry with no tensors when unsharded).
  std::map<std::string, std::vector<std::string>> shards;
  if (Exists(Join(folder, kSingleName))) {
    shards[kSingleName];
  } else if (Exists(Join(folder, kIndexName))) {
    absl::StatusOr<Json> index = ReadJsonFile(folder, kIndexName, true);
    if (!index.ok()) return index.status();
    const std::string iwhere = absl::StrCat(where, ": ", kIndexName);
    const auto map_it = index->find("weight_map");
    if (map_it == index->end()) {
      return absl::InvalidArgumentError(absl::StrCat(iwhere, ": missing 'weight_map'"));
    }
    if (!map_it->is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(iwhere, ": 'weight_map' is a JSON ",
                                                     map_it->type_name(), ", not an object"));
    }
    if (map_it->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(iwhere, ": 'weight_map' lists no tensors"));
    }
    for (const auto& [tensor, shard] : map_it->items()) {
      if (!shard.is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(iwhere, ": tensor ", Quote(tensor),
                                                       " maps to a JSON ", shard.type_name(),
                                                       ", not a shard file name"));
      }
      const std::string& shard_name = shard.get_ref<const std::string&>();
      if (!IsPlainFileName(shard_name)) {
        return absl::InvalidArgumentError(
            absl::StrCat(iwhere, ": tensor ", Quote(tensor), " maps to shard ", Quote(shard_name),
                         ", which is not a plain file name inside the folder"));
      }
      shards[shard_name].push_back(tensor);
    }
  } else {
    return absl::NotFoundError(absl::StrCat(where, ": no weights: expected ", kSingleName, " or ",
                                            kIndexName, " (with its shards)"));
  }

  // Open every shard; index every tensor of every shard, rejecting names found twice.
  absl::flat_hash_map<std::string, std::string> owner;  // tensor -> shard file name
  for (const auto& [shard_name, listed] : shards) {
    absl::StatusOr<std::unique_ptr<SafetensorsFile>> shard =
        SafetensorsFile::Open(Join(folder, shard_name));
    if (!shard.ok()) {
      std::string context = absl::StrCat(where, ": shard ", Quote(shard_name));
      if (!listed.empty()) {
        absl::StrAppend(&context, " (listed in ", kIndexName, " for tensor ", Quote(listed[0]),
                        listed.size() > 1 ? absl::StrCat(" and ", listed.size() - 1, " more") : "",
                        ")");
      }
      return absl::Status(shard.status().code(),
                          absl::StrCat(context, ": ", shard.status().message()));
    }
    for (const SafetensorsTensor& t : (*shard)->tensors()) {
      const auto [it, inserted] = owner.emplace(t.name, shard_name);
      if (!inserted) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": tensor ", Quote(t.name),
                                                       " appears in both shard ", Quote(it->second),
                                                       " and shard ", Quote(shard_name)));
      }
      out->index_.emplace(t.name, &t);
    }
    for (const std::string& tensor : listed) {
      if ((*shard)->Find(tensor) == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": ", kIndexName, " maps tensor ", Quote(tensor), " to shard ",
                         Quote(shard_name), ", which does not contain it"));
      }
    }
    out->shards_.push_back(*std::move(shard));
  }
  return out;
}

const SafetensorsTensor* HfCheckpoint::Find(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) return nullptr;
  return it->second;
}

std::vector<std::string> HfCheckpoint::TensorNames() const {
  std::vector<std::string> names;
  names.reserve(index_.size());
  for (const auto& [name, tensor] : index_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

bool HfCheckpoint::HasTokenizerFiles() const {
  return IsRegularFile(Join(folder_, "tokenizer.json")) ||
         IsRegularFile(Join(folder_, "tokenizer.model"));
}

}  // namespace fathom
