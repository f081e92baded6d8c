// fathom eval: runs token ids through the model in one prefill and writes every position's logits
// to a file (little-endian float32, row-major [n_tokens x n_vocab]).
#include <bit>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"

namespace fathom::cli {

static_assert(std::endian::native == std::endian::little,
              "logits files are little-endian float32, written as they are in memory");

int EvalCommand(int argc, char** argv) {
  std::string model_path, logits_path, mtp_logits_path;
  std::vector<int32_t> tokens;
  SessionOptions session_options;

  OptionParser parser("eval",
                      "Evaluates token ids in one prefill and writes all positions' logits as\n"
                      "little-endian float32, row-major [n_tokens x n_vocab].");
  parser.AddString("-m,--model", "PATH",
                   "model: a GGUF file or a Hugging Face folder (config.json + safetensors), required",
                   &model_path);
  parser.AddIds("--tokens", "IDS", "comma-separated token ids, required", &tokens);
  parser.AddString("--logits-out", "FILE", "where to write the logits, required", &logits_path);
  parser.AddString("--mtp-logits-out", "FILE",
                   "also run the model's MTP module and write its logits [n_tokens-1 x n_vocab]:\n"
                   "row p predicts token p+2 (embedding zeroed at position 0, as vLLM does)",
                   &mtp_logits_path);
  parser.AddInt32("-t,--threads", "N", "threads; 0 = all hardware threads (default 0)",
                  &session_options.n_threads);
  parser.AddInt32("-c,--ctx-size", "N", "context size in tokens (default: the number of ids)",
                  &session_options.n_ctx);
  parser.AddInt32("-b,--batch-size", "N", "tokens per forward pass (default 512)",
                  &session_options.n_batch);
  if (int rc = ParseCommandLine(parser, argc, argv, {"--model", "--tokens", "--logits-out"});
      rc >= 0) {
    return rc;
  }
  if (session_options.n_threads < 0) return UsageError(parser, "-t must be >= 0");
  if (session_options.n_ctx < 0) return UsageError(parser, "-c must be >= 0");
  if (session_options.n_batch <= 0) return UsageError(parser, "-b must be > 0");
  if (!parser.Given("--ctx-size")) session_options.n_ctx = static_cast<int32_t>(tokens.size());
  session_options.mtp = !mtp_logits_path.empty();

  std::shared_ptr<const Model> model = LoadModel("eval", model_path);
  if (!model) return kExitFailure;
  std::unique_ptr<Session> session = CreateSession("eval", model, session_options);
  if (!session) return kExitFailure;
  if (Status st = session->Evaluate(tokens, /*all_logits=*/true); !st.ok()) {
    PrintError("eval", "evaluation failed: " + st.message());
    return kExitFailure;
  }
  if (session->n_logits() != static_cast<int32_t>(tokens.size())) {
    PrintError("eval", "the session kept " + std::to_string(session->n_logits()) +
                           " rows of logits for " + std::to_string(tokens.size()) + " tokens");
    return kExitFailure;
  }

  auto write_rows = [&](const std::string& path, int32_t rows, auto row_at) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    const std::streamsize row_bytes = static_cast<std::streamsize>(session->n_vocab()) * 4;
    for (int32_t i = 0; out && i < rows; ++i) {
      out.write(reinterpret_cast<const char*>(row_at(i)), row_bytes);
    }
    out.close();
    if (!out) PrintError("eval", "cannot write '" + path + "'");
    return static_cast<bool>(out);
  };
  if (!write_rows(logits_path, session->n_logits(), [&](int32_t i) { return session->logits(i); })) {
    return kExitFailure;
  }
  if (!mtp_logits_path.empty() &&
      !write_rows(mtp_logits_path, session->n_mtp_logits(),
                  [&](int32_t i) { return session->mtp_logits(i); })) {
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace fathom::cli
