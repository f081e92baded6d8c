// fathom bench's side-by-side yardstick: runs llama.cpp's llama-bench on the same file with the
// same threads and test sizes (-o json) and reads its results.
#ifndef FATHOM_EXAMPLES_CLI_LLAMA_BENCH_H_
#define FATHOM_EXAMPLES_CLI_LLAMA_BENCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fathom::cli {

// One llama-bench test: a prompt test (n_prompt > 0, n_gen == 0) or a generation test
// (n_prompt == 0, n_gen > 0).
struct LlamaBenchTest {
  int64_t n_prompt = 0;
  int64_t n_gen = 0;
  int64_t n_threads = 0;  // 0 when the output does not say
  double avg_ts = 0;      // llama-bench's mean tokens/s
  double stddev_ts = 0;
  std::vector<double> samples_ts;  // tokens/s of each repetition (may be empty)
  std::string build_commit;
};

// Parses `llama-bench -o json` output (a JSON array of test objects). Tests that are neither a
// pure prompt nor a pure generation test (-pg) are skipped. InvalidArgument names what is wrong.
absl::StatusOr<std::vector<LlamaBenchTest>> ParseLlamaBenchJson(const std::string& text);

struct LlamaBenchRequest {
  std::string binary;  // path of llama-bench
  std::string model;   // GGUF file
  int threads = 1;
  std::vector<int32_t> n_prompt;  // -p values
  std::vector<int32_t> n_gen;     // -n values
  int repetitions = 1;
  int batch = 0;  // > 0: passed as -b and -ub (tokens per forward pass)
  int depth = 0;  // > 0: passed as -d (llama-bench from about April 2025 on has it)
};

// The command line RunLlamaBench runs.
std::vector<std::string> LlamaBenchArgv(const LlamaBenchRequest& request);

// Runs llama-bench and parses its output. Errors say why (not runnable, exit status with the
// end of its stderr, unparsable output).
absl::StatusOr<std::vector<LlamaBenchTest>> RunLlamaBench(const LlamaBenchRequest& request);

// The test with these sizes, or nullptr.
const LlamaBenchTest* FindLlamaBenchTest(const std::vector<LlamaBenchTest>& tests, int64_t n_prompt,
                                         int64_t n_gen);

}  // namespace fathom::cli

#endif  // FATHOM_EXAMPLES_CLI_LLAMA_BENCH_H_
