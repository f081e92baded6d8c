/* Minimal streaming generation with fathom's C ABI: loads a GGUF model, tokenizes a prompt and
 * prints the greedy continuation as it is generated (what `fathom run --temp 0` prints).
 * Usage: fathom_generate_c MODEL.gguf [PROMPT] [N_TOKENS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fathom.h"

/* Called for each generated token with the text that became complete (valid UTF-8). */
static int32_t print_piece(void* user_data, int32_t token, const char* piece, size_t len) {
  (void)user_data;
  (void)token;
  fwrite(piece, 1, len, stdout);
  fflush(stdout);
  return 0; /* non-zero would stop the generation */
}

int main(int argc, char** argv) {
  const char* text = argc > 2 ? argv[2] : "Once upon a time";
  const int32_t n_tokens = argc > 3 ? (int32_t)atoi(argv[3]) : 64;
  fathom_model* model = NULL;
  fathom_session* session = NULL;
  fathom_generate_params gp;
  int32_t* prompt = NULL;
  size_t n_prompt = 0;
  int rc = 1;

  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL.gguf [PROMPT] [N_TOKENS]\n", argv[0]);
    return 2;
  }
  if (fathom_abi_version() != FATHOM_ABI_VERSION) {
    fprintf(stderr, "libfathom has ABI %d, this program was built for %d\n",
            (int)fathom_abi_version(), FATHOM_ABI_VERSION);
    return 1;
  }
  if (fathom_model_load(argv[1], NULL, &model) != FATHOM_STATUS_OK) goto done;
  if (fathom_session_create(model, NULL, &session) != FATHOM_STATUS_OK) goto done;

  /* Two-phase: learn the number of tokens, then fill a buffer of that size. */
  if (fathom_tokenize(model, text, strlen(text), 1, 0, NULL, 0, &n_prompt) != FATHOM_STATUS_OK)
    goto done;
  prompt = malloc((n_prompt > 0 ? n_prompt : 1) * sizeof(int32_t));
  if (prompt == NULL || fathom_tokenize(model, text, strlen(text), 1, 0, prompt, n_prompt,
                                        &n_prompt) != FATHOM_STATUS_OK)
    goto done;

  fathom_generate_default_params(&gp);
  gp.temperature = 0.0f; /* greedy */
  gp.max_tokens = n_tokens;
  gp.on_token = print_piece;
  if (fathom_session_generate(session, prompt, n_prompt, &gp, NULL, 0, NULL, NULL) !=
      FATHOM_STATUS_OK)
    goto done;
  printf("\n");
  rc = 0;

done:
  if (rc != 0) fprintf(stderr, "error: %s\n", fathom_last_error());
  free(prompt);
  fathom_session_free(session); /* NULL-safe */
  fathom_model_free(model);
  return rc;
}
