// fathom::Model: an immutable loaded model, shareable by any number of sessions and threads.
#ifndef FATHOM_MODEL_H_
#define FATHOM_MODEL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "fathom/status.h"
#include "fathom/tokenizer.h"

namespace fathom {

namespace internal {
class ModelImpl;
}

struct ModelLoadOptions {
  // Called with a fraction in [0, 1]; return false to cancel the load (gives kCancelled).
  std::function<bool(float)> progress;
  // Where a GGUF file's bytes live while the model is loaded:
  // - kMap: memory-mapped (pages shared with the page cache and other processes);
  // - kHugePages: read into private memory backed by 2 MiB transparent huge pages, so decoding
  //   (which streams every weight once per token) misses the TLB far less; costs the file's size
  //   in private memory and a read of the file at load;
  // - kAuto: kHugePages when the kernel offers transparent huge pages and the file takes at most
  //   half of the available memory, otherwise kMap. The environment variable
  //   FATHOM_WEIGHTS=map|hugepages overrides kAuto.
  enum class Placement { kAuto, kMap, kHugePages };
  Placement placement = Placement::kAuto;
};

struct ModelInfo {
  std::string architecture;  // "llama", "qwen2", "deepseek2", ...
  std::string name;          // general.name when present
  int64_t n_params = 0;
  int32_t n_vocab = 0;
  int32_t n_ctx_train = 0;
  int32_t n_embd = 0;
  int32_t n_layer = 0;
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  int64_t kv_bytes_per_token = 0;  // KV cache bytes one token occupies (all layers)
};

class Model {
 public:
  // Loads a GGUF file (see ModelLoadOptions::placement) or a Hugging Face folder.
  static Result<std::shared_ptr<const Model>> Load(const std::string& path,
                                                   const ModelLoadOptions& options = {});
  ~Model();

  const ModelInfo& info() const;
  const Tokenizer& tokenizer() const;

  // Internal access for Session; not part of the stable surface.
  const internal::ModelImpl& impl() const { return *impl_; }
  explicit Model(std::unique_ptr<internal::ModelImpl> impl);

 private:
  std::unique_ptr<internal::ModelImpl> impl_;
};

}  // namespace fathom

#endif  // FATHOM_MODEL_H_
