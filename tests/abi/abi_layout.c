/* Prints the layout of every public struct of capi/fathom.h (size, alignment, and each field's
 * offset and size), one line each; tests/abi/check_layout.cmake compares it with
 * capi/abi/layout.txt. A new struct or field must be added here (the check finds missing ones). */
#include <stddef.h>
#include <stdio.h>

#include "fathom.h"

#define STRUCT(T)                                                                       \
  do {                                                                                  \
    struct align_of_##T {                                                               \
      char c;                                                                           \
      T t;                                                                              \
    };                                                                                  \
    printf("%s size %zu align %zu\n", #T, sizeof(T), offsetof(struct align_of_##T, t)); \
  } while (0)
#define FIELD(T, f) \
  printf("%s.%s offset %zu size %zu\n", #T, #f, offsetof(T, f), sizeof(((T*)0)->f))

int main(void) {
  STRUCT(fathom_model_params);
  FIELD(fathom_model_params, struct_size);
  FIELD(fathom_model_params, progress);
  FIELD(fathom_model_params, progress_user_data);

  STRUCT(fathom_session_params);
  FIELD(fathom_session_params, struct_size);
  FIELD(fathom_session_params, n_ctx);
  FIELD(fathom_session_params, n_threads);
  FIELD(fathom_session_params, n_batch);
  FIELD(fathom_session_params, mtp);
  FIELD(fathom_session_params, reserved);
  FIELD(fathom_session_params, context_overflow);
  FIELD(fathom_session_params, n_keep);

  STRUCT(fathom_generate_params);
  FIELD(fathom_generate_params, struct_size);
  FIELD(fathom_generate_params, seed);
  FIELD(fathom_generate_params, on_token);
  FIELD(fathom_generate_params, user_data);
  FIELD(fathom_generate_params, temperature);
  FIELD(fathom_generate_params, top_k);
  FIELD(fathom_generate_params, top_p);
  FIELD(fathom_generate_params, max_tokens);
  FIELD(fathom_generate_params, stop_at_eog);
  FIELD(fathom_generate_params, reserved);
  FIELD(fathom_generate_params, min_p);
  FIELD(fathom_generate_params, typical_p);
  FIELD(fathom_generate_params, penalty_last_n);
  FIELD(fathom_generate_params, repeat_penalty);
  FIELD(fathom_generate_params, frequency_penalty);
  FIELD(fathom_generate_params, presence_penalty);
  FIELD(fathom_generate_params, logit_bias);
  FIELD(fathom_generate_params, n_logit_bias);
  FIELD(fathom_generate_params, sampler_order);
  FIELD(fathom_generate_params, n_sampler_order);
  FIELD(fathom_generate_params, stop);
  FIELD(fathom_generate_params, n_stop);
  FIELD(fathom_generate_params, on_reasoning);
  FIELD(fathom_generate_params, reasoning_open_tag);
  FIELD(fathom_generate_params, reasoning_close_tag);
  FIELD(fathom_generate_params, reasoning);
  FIELD(fathom_generate_params, evaluate_last);
  FIELD(fathom_generate_params, reserved2);
  FIELD(fathom_generate_params, speculative);
  FIELD(fathom_generate_params, n_draft);

  STRUCT(fathom_speculative_stats);
  FIELD(fathom_speculative_stats, struct_size);
  FIELD(fathom_speculative_stats, main_forwards);
  FIELD(fathom_speculative_stats, tokens);
  FIELD(fathom_speculative_stats, drafted);
  FIELD(fathom_speculative_stats, accepted);
  FIELD(fathom_speculative_stats, drafted_at_depth);
  FIELD(fathom_speculative_stats, accepted_at_depth);

  STRUCT(fathom_sampler_params);
  FIELD(fathom_sampler_params, struct_size);
  FIELD(fathom_sampler_params, seed);
  FIELD(fathom_sampler_params, temperature);
  FIELD(fathom_sampler_params, top_k);
  FIELD(fathom_sampler_params, top_p);
  FIELD(fathom_sampler_params, reserved);
  FIELD(fathom_sampler_params, min_p);
  FIELD(fathom_sampler_params, typical_p);
  FIELD(fathom_sampler_params, penalty_last_n);
  FIELD(fathom_sampler_params, repeat_penalty);
  FIELD(fathom_sampler_params, frequency_penalty);
  FIELD(fathom_sampler_params, presence_penalty);
  FIELD(fathom_sampler_params, logit_bias);
  FIELD(fathom_sampler_params, n_logit_bias);
  FIELD(fathom_sampler_params, order);
  FIELD(fathom_sampler_params, n_order);

  STRUCT(fathom_logit_bias);
  FIELD(fathom_logit_bias, token);
  FIELD(fathom_logit_bias, bias);

  STRUCT(fathom_chat_message);
  FIELD(fathom_chat_message, role);
  FIELD(fathom_chat_message, content);
  STRUCT(fathom_chat_template_params);
  FIELD(fathom_chat_template_params, struct_size);
  FIELD(fathom_chat_template_params, variables_json);
  FIELD(fathom_chat_template_params, messages_json);
  FIELD(fathom_chat_template_params, bos_token);
  FIELD(fathom_chat_template_params, eos_token);
  FIELD(fathom_chat_template_params, add_generation_prompt);
  FIELD(fathom_chat_template_params, reserved);
  return 0;
}
