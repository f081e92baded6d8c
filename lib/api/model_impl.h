// The state behind fathom::Model: the mapped GGUF file, the model family object, the tokenizer.
#ifndef FATHOM_LIB_API_MODEL_IMPL_H_
#define FATHOM_LIB_API_MODEL_IMPL_H_

#include <memory>

#include "fathom/model.h"
#include "format/gguf_reader.h"
#include "format/hf_checkpoint.h"
#include "models/language_model.h"

namespace fathom::internal {

class ModelImpl {
 public:
  // Declaration order matters: the model refers into the GGUF mapping, so it is destroyed first.
  std::unique_ptr<GgufFile> gguf;
  std::unique_ptr<HfCheckpoint> hf;
  std::unique_ptr<LanguageModel> model;
  std::unique_ptr<Tokenizer> tokenizer;
  ModelInfo info;
};

// Builds a Model from an already parsed GGUF file (a path or an in-memory buffer).
Result<std::shared_ptr<const Model>> LoadModelFromGguf(std::unique_ptr<GgufFile> gguf,
                                                       const ModelLoadOptions& options);

// Builds a Model from a Hugging Face checkpoint folder (DeepSeek V2/V3).
Result<std::shared_ptr<const Model>> LoadModelFromHfFolder(const std::string& folder,
                                                           const ModelLoadOptions& options);

// Converts an internal status to the public one.
Status FromAbsl(const absl::Status& s);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_API_MODEL_IMPL_H_
