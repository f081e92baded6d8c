// A Hugging Face checkpoint folder: config.json plus model.safetensors or sharded
// model-0000N-of-0000M.safetensors with model.safetensors.index.json, all memory-mapped.
#ifndef FATHOM_LIB_FORMAT_HF_CHECKPOINT_H_
#define FATHOM_LIB_FORMAT_HF_CHECKPOINT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "format/safetensors_reader.h"
#include "nlohmann/json.hpp"

namespace fathom {

class HfCheckpoint {
 public:
  // Opens `folder`; validates config.json (must parse as a JSON object), the index (every
  // listed shard exists and holds the tensors it is listed for), every shard, and that no
  // tensor name appears twice across shards.
  static absl::StatusOr<std::unique_ptr<HfCheckpoint>> Open(const std::string& folder);

  const std::string& folder() const { return folder_; }
  const nlohmann::json& config() const { return config_; }
  const SafetensorsTensor* Find(const std::string& name) const;
  bool Has(const std::string& name) const { return Find(name) != nullptr; }
  std::vector<std::string> TensorNames() const;  // sorted
  // Whether the folder holds tokenizer files (tokenizer.json or tokenizer.model).
  bool HasTokenizerFiles() const;

 private:
  HfCheckpoint() = default;
  std::string folder_;
  nlohmann::json config_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  absl::flat_hash_map<std::string, const SafetensorsTensor*> index_;
};

// True if `path` is a directory (a checkpoint folder) rather than a file.
bool IsDirectory(const std::string& path);

}  // namespace fathom

#endif  // FATHOM_LIB_FORMAT_HF_CHECKPOINT_H_
