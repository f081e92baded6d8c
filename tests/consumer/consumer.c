/* An out-of-tree program that uses an installed fathom: prints the library's version and, given a
 * model, the greedy continuation of "Once upon a time" (8 tokens). Built by tests/consumer/. */
#include <fathom.h>
#include <stdio.h>
#include <string.h>

static int32_t print_piece(void* user_data, int32_t token, const char* piece, size_t len) {
  (void)user_data;
  (void)token;
  fwrite(piece, 1, len, stdout);
  return 0;
}

int main(int argc, char** argv) {
  static const char kPrompt[] = "Once upon a time";
  fathom_model* model = NULL;
  fathom_session* session = NULL;
  fathom_generate_params gp;
  int32_t prompt[64];
  size_t n_prompt = 0;
  int rc = 1;

  printf("%s (ABI %d)\n", fathom_version_string(), (int)fathom_abi_version());
  if (fathom_abi_version() != FATHOM_ABI_VERSION) return 1;
  if (argc < 2) return 0;
  if (fathom_model_load(argv[1], NULL, &model) == FATHOM_STATUS_OK &&
      fathom_session_create(model, NULL, &session) == FATHOM_STATUS_OK &&
      fathom_tokenize(model, kPrompt, strlen(kPrompt), 1, 0, prompt, 64, &n_prompt) ==
          FATHOM_STATUS_OK &&
      fathom_generate_default_params(&gp) == FATHOM_STATUS_OK) {
    gp.temperature = 0.0f;
    gp.max_tokens = 8;
    gp.on_token = print_piece;
    if (fathom_session_generate(session, prompt, n_prompt, &gp, NULL, 0, NULL, NULL) ==
        FATHOM_STATUS_OK) {
      printf("\n");
      rc = 0;
    }
  }
  if (rc != 0) fprintf(stderr, "error: %s\n", fathom_last_error());
  fathom_session_free(session);
  fathom_model_free(model);
  return rc;
}
