// YaRN rotary frequencies and the MLA softmax scale, exactly as DeepSeek's reference computes
// them (see DESIGN.md §6 and fixtures/deepseek/README.md items 6-7).
#ifndef FATHOM_LIB_MODELS_DEEPSEEK_YARN_H_
#define FATHOM_LIB_MODELS_DEEPSEEK_YARN_H_

#include <vector>

#include "models/deepseek/deepseek_config.h"

namespace fathom::internal {

// qk_rope_head_dim / 2 inverse frequencies; YaRN-corrected when the config enables YaRN.
std::vector<double> DeepSeekRopeInvFreq(const DeepSeekConfig& c);

// (qk_nope + qk_rope)^-0.5, times m^2 with m = 0.1 * mscale_all_dim * ln(factor) + 1 under YaRN.
double DeepSeekSoftmaxScale(const DeepSeekConfig& c);

}  // namespace fathom::internal

#endif  // FATHOM_LIB_MODELS_DEEPSEEK_YARN_H_
