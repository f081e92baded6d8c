// DeepSeek V2/V3 (MLA + DeepSeekMoE + YaRN + MTP) as a LanguageModel, from a Hugging Face
// folder or a GGUF deepseek2 file.
#ifndef FATHOM_LIB_MODELS_DEEPSEEK_DEEPSEEK_MODEL_H_
#define FATHOM_LIB_MODELS_DEEPSEEK_DEEPSEEK_MODEL_H_

#include <memory>
#include <vector>

#include "format/hf_checkpoint.h"
#include "kernels/ops.h"
#include "models/deepseek/deepseek_config.h"
#include "models/deepseek/deepseek_weights.h"
#include "models/language_model.h"
#include "models/weight_source.h"

namespace fathom::internal {

class DeepSeekState;

class DeepSeekModel final : public LanguageModel {
 public:
  static absl::StatusOr<std::unique_ptr<DeepSeekModel>> LoadHf(const HfCheckpoint& ckpt,
                                                               ModelInfo* info);
  static absl::StatusOr<std::unique_ptr<DeepSeekModel>> LoadGguf(const GgufFile& gguf,
                                                                 ModelInfo* info);

  int32_t n_vocab() const override { return static_cast<int32_t>(config_.vocab_size); }
  absl::StatusOr<std::unique_ptr<ForwardState>> NewState(int64_t n_ctx,
                                                         int64_t max_batch) const override;
  absl::Status Forward(ForwardState& state, absl::Span<const int32_t> tokens, int64_t pos0,
                       LogitsMode mode, float* logits, ThreadPool& pool,
                       const std::atomic<bool>* cancel) const override;
  bool has_mtp() const override { return !weights_.mtp.empty(); }
  absl::Status ForwardMtp(ForwardState& state, absl::Span<const int32_t> next_tokens, int64_t pos0,
                          float* logits, ThreadPool& pool,
                          const std::atomic<bool>* cancel) const override;
  absl::Status ForwardMtpChained(ForwardState& state, int32_t next_token, int64_t pos,
                                 float* logits, ThreadPool& pool,
                                 const std::atomic<bool>* cancel) const override;

  const DeepSeekConfig& config() const { return config_; }

 private:
  DeepSeekModel(DeepSeekConfig config, std::unique_ptr<WeightSource> source);
  // The MTP module over rows pos0.. with hidden inputs `h` ([n x hidden]); keeps the last row's
  // head-normed output in st.mtp_hidden for a chained step.
  void RunMtp(DeepSeekState& st, absl::Span<const int32_t> next_tokens, int64_t pos0,
              const float* h, float* logits, ThreadPool& pool) const;
  absl::Status Finish(ModelInfo* info);

  DeepSeekConfig config_;
  std::unique_ptr<WeightSource> source_;  // owns converted vectors the weights point to
  DeepSeekWeights weights_;
  std::unique_ptr<RopeTable> rope_;
  float softmax_scale_ = 1.0f;
};

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_DEEPSEEK_DEEPSEEK_MODEL_H_
