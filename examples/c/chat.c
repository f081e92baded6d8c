/* A minimal streaming chat in plain C over fathom's C ABI: reads one user turn per line from
 * stdin and streams the reply. With the model's chat template the whole conversation is rendered
 * each turn (fathom_chat_apply_template); without one, turns are plain text ("User: ...\n
 * Assistant:", the reply ending at "\nUser:"). Either way only what is new is evaluated
 * (fathom_session_evaluate_reusing_prefix), and a reasoning model's thoughts (<think>...</think>)
 * arrive through their own callback. It prints what `fathom chat --no-color` prints.
 * Usage: chat MODEL [N_TOKENS_PER_REPLY] [TEMPERATURE] < turns.txt */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fathom.h"

#define MAX_TURNS 64
#define MAX_LINE 4096

typedef struct {
  char* text; /* the reply so far (the answer, without thoughts) */
  size_t len;
} Reply;

static int32_t on_answer(void* user_data, int32_t token, const char* piece, size_t len) {
  Reply* reply = (Reply*)user_data;
  char* grown;
  (void)token;
  fwrite(piece, 1, len, stdout);
  fflush(stdout);
  grown = (char*)realloc(reply->text, reply->len + len + 1);
  if (grown == NULL) return 1; /* stop */
  memcpy(grown + reply->len, piece, len + 1);
  reply->text = grown;
  reply->len += len;
  return 0;
}

static int32_t on_thought(void* user_data, int32_t token, const char* piece, size_t len) {
  (void)user_data;
  (void)token;
  fwrite(piece, 1, len, stdout); /* a real app would show it apart, e.g. dimmed */
  fflush(stdout);
  return 0;
}

/* A malloc'ed copy of s (strdup is not C99). */
static char* copy_string(const char* s) {
  char* copy = (char*)malloc(strlen(s) + 1);
  if (copy != NULL) strcpy(copy, s);
  return copy;
}

/* Tokenizes text (two-phase) and appends the ids to *ids (grown with realloc). */
static fathom_status append_tokens(const fathom_model* model, const char* text, uint8_t add_bos,
                                   uint8_t parse_special, int32_t** ids, size_t* n_ids) {
  size_t n = 0;
  int32_t* grown;
  fathom_status st =
      fathom_tokenize(model, text, strlen(text), add_bos, parse_special, NULL, 0, &n);
  if (st != FATHOM_STATUS_OK) return st;
  grown = (int32_t*)realloc(*ids, (*n_ids + n + 1) * sizeof(int32_t));
  if (grown == NULL) return FATHOM_STATUS_RESOURCE_EXHAUSTED;
  *ids = grown;
  st = fathom_tokenize(model, text, strlen(text), add_bos, parse_special, grown + *n_ids, n, &n);
  if (st == FATHOM_STATUS_OK) *n_ids += n;
  return st;
}

int main(int argc, char** argv) {
  static const char* const kTurnEnd[1] = {"\nUser:"};
  fathom_model* model = NULL;
  fathom_session* session = NULL;
  fathom_generate_params gp;
  fathom_chat_message history[2 * MAX_TURNS];
  size_t n_history = 0, i;
  int32_t* ids = NULL;
  size_t n_ids = 0;
  char line[MAX_LINE];
  int use_template, after_stop = 0, rc = 1;

  if (argc < 2) {
    fprintf(stderr, "usage: chat MODEL [N_TOKENS_PER_REPLY] [TEMPERATURE] < turns.txt\n");
    return 2;
  }
  if (fathom_model_load(argv[1], NULL, &model) != FATHOM_STATUS_OK) goto done;
  if (fathom_session_create(model, NULL, &session) != FATHOM_STATUS_OK) goto done;
  use_template = fathom_model_chat_template(model)[0] != '\0';

  fathom_generate_default_params(&gp);
  gp.max_tokens = argc > 2 ? atoi(argv[2]) : 512;
  gp.temperature = argc > 3 ? (float)atof(argv[3]) : 0.8f;
  gp.on_token = on_answer;
  gp.on_reasoning = on_thought;
  gp.reasoning = FATHOM_REASONING_SPLIT;
  gp.evaluate_last = 1; /* the reply is part of the next turn's context */
  if (!use_template) {
    gp.stop = kTurnEnd;
    gp.n_stop = 1;
  }

  for (;;) {
    Reply reply = {NULL, 0};
    int32_t stop_reason = 0;
    size_t len = 0;
    fputs("> ", stdout);
    fflush(stdout);
    if (fgets(line, sizeof(line), stdin) == NULL) break;
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '\0') continue;
    if (strcmp(line, "/quit") == 0) break;

    if (use_template) {
      /* The whole conversation, rendered by the model's template; the template writes BOS. */
      char* prompt;
      if (n_history + 2 > 2 * MAX_TURNS) break;
      history[n_history].role = "user";
      history[n_history].content = copy_string(line);
      ++n_history;
      if (fathom_chat_apply_template(model, history, n_history, 1, NULL, 0, &len) !=
          FATHOM_STATUS_OK)
        goto done;
      prompt = (char*)malloc(len + 1);
      if (prompt == NULL || fathom_chat_apply_template(model, history, n_history, 1, prompt,
                                                       len + 1, &len) != FATHOM_STATUS_OK) {
        free(prompt);
        goto done;
      }
      n_ids = 0;
      if (append_tokens(model, prompt, 0, 1, &ids, &n_ids) != FATHOM_STATUS_OK) {
        free(prompt);
        goto done;
      }
      free(prompt);
    } else {
      /* The session's tokens (the conversation so far) plus the new turn. */
      char turn[MAX_LINE + 32];
      const int first = fathom_session_position(session) == 0;
      snprintf(turn, sizeof(turn), "%s%s\nAssistant:", after_stop ? " " : "User: ", line);
      if (fathom_session_tokens(session, NULL, 0, &n_ids) != FATHOM_STATUS_OK) goto done;
      free(ids);
      ids = (int32_t*)malloc((n_ids + 1) * sizeof(int32_t));
      if (ids == NULL || fathom_session_tokens(session, ids, n_ids, &n_ids) != FATHOM_STATUS_OK)
        goto done;
      if (append_tokens(model, turn, (uint8_t)first, 0, &ids, &n_ids) != FATHOM_STATUS_OK)
        goto done;
    }
    /* Only the part that differs from the cached tokens is evaluated. */
    if (fathom_session_evaluate_reusing_prefix(session, ids, n_ids) != FATHOM_STATUS_OK) goto done;
    gp.user_data = &reply;
    if (fathom_session_generate(session, NULL, 0, &gp, NULL, 0, NULL, &stop_reason) !=
        FATHOM_STATUS_OK) {
      free(reply.text);
      goto done;
    }
    fputc('\n', stdout);
    if (use_template) {
      history[n_history].role = "assistant";
      history[n_history].content = reply.text != NULL ? reply.text : copy_string("");
      ++n_history;
      continue;
    }
    free(reply.text);
    after_stop = stop_reason == FATHOM_STOP_STRING;
    if (!after_stop) { /* end the assistant's turn in the context */
      int32_t* nl = NULL;
      size_t n_nl = 0;
      if (append_tokens(model, "\n", 0, 0, &nl, &n_nl) == FATHOM_STATUS_OK && n_nl > 0)
        (void)fathom_session_evaluate(session, nl, n_nl, 0);
      free(nl);
    }
  }
  rc = 0;

done:
  if (rc != 0) fprintf(stderr, "error: %s\n", fathom_last_error());
  for (i = 0; i < n_history; ++i) free((void*)history[i].content);
  free(ids);
  fathom_session_free(session);
  fathom_model_free(model);
  return rc;
}
