// Runs llama-bench and parses its JSON output (see llama_bench.h), with the repository's JSON
// parser (tokenizer/json_util.h: no exceptions, depth-limited).
#include "llama_bench.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "subprocess.h"
#include "tokenizer/json_util.h"

namespace fathom::cli {
namespace {

using internal::Json;

std::string JoinInts(const std::vector<int32_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) s += ',';
    s += std::to_string(v[i]);
  }
  return s;
}

// The last `max_lines` lines of `text`, without the final line break.
std::string Tail(std::string text, int max_lines) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  size_t pos = text.size();
  for (int i = 0; i < max_lines && pos != std::string::npos && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
  }
  return pos == std::string::npos ? text : text.substr(pos + (text[pos] == '\n' ? 1 : 0));
}

absl::Status ReadInt(const Json& obj, const char* key, size_t index, bool required, int64_t* out) {
  const Json* v = internal::JsonField(obj, key);
  if (v == nullptr) {
    if (!required) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrFormat("test %d has no \"%s\"", index, key));
  }
  if (!v->is_number_integer() || v->get<int64_t>() < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("test %d: \"%s\" is not a non-negative integer", index, key));
  }
  *out = v->get<int64_t>();
  return absl::OkStatus();
}

absl::Status ReadRate(const Json& v, const std::string& what, double* out) {
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0) {
    return absl::InvalidArgumentError(what + " is not a non-negative number");
  }
  *out = v.get<double>();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<LlamaBenchTest>> ParseLlamaBenchJson(const std::string& text) {
  absl::StatusOr<Json> parsed = internal::ParseJson(text, "llama-bench output");
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_array()) {
    return absl::InvalidArgumentError("llama-bench output is not a JSON array of tests");
  }
  std::vector<LlamaBenchTest> tests;
  for (size_t i = 0; i < parsed->size(); ++i) {
    const Json& obj = (*parsed)[i];
    if (!obj.is_object()) {
      return absl::InvalidArgumentError(absl::StrFormat("test %d is not a JSON object", i));
    }
    LlamaBenchTest t;
    if (absl::Status s = ReadInt(obj, "n_prompt", i, true, &t.n_prompt); !s.ok()) return s;
    if (absl::Status s = ReadInt(obj, "n_gen", i, true, &t.n_gen); !s.ok()) return s;
    if (absl::Status s = ReadInt(obj, "n_threads", i, false, &t.n_threads); !s.ok()) return s;
    const Json* avg = internal::JsonField(obj, "avg_ts");
    if (avg == nullptr) {
      return absl::InvalidArgumentError(absl::StrFormat("test %d has no \"avg_ts\"", i));
    }
    if (absl::Status s = ReadRate(*avg, absl::StrFormat("test %d: avg_ts", i), &t.avg_ts);
        !s.ok()) {
      return s;
    }
    if (const Json* sd = internal::JsonField(obj, "stddev_ts"); sd != nullptr) {
      if (absl::Status s = ReadRate(*sd, absl::StrFormat("test %d: stddev_ts", i), &t.stddev_ts);
          !s.ok()) {
        return s;
      }
    }
    if (const Json* samples = internal::JsonField(obj, "samples_ts"); samples != nullptr) {
      if (!samples->is_array()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("test %d: samples_ts is not an array", i));
      }
      for (size_t k = 0; k < samples->size(); ++k) {
        double x = 0;
        if (absl::Status s =
                ReadRate((*samples)[k], absl::StrFormat("test %d: samples_ts[%d]", i, k), &x);
            !s.ok()) {
          return s;
        }
        t.samples_ts.push_back(x);
      }
    }
    if (const Json* c = internal::JsonField(obj, "build_commit"); c != nullptr && c->is_string()) {
      t.build_commit = c->get<std::string>();
    }
    if ((t.n_prompt > 0) == (t.n_gen > 0)) continue;  // -pg test or empty: not compared
    tests.push_back(std::move(t));
  }
  return tests;
}

std::vector<std::string> LlamaBenchArgv(const LlamaBenchRequest& request) {
  std::vector<std::string> argv = {request.binary,
                                   "-m",
                                   request.model,
                                   "-t",
                                   std::to_string(request.threads),
                                   "-p",
                                   JoinInts(request.n_prompt),
                                   "-n",
                                   JoinInts(request.n_gen),
                                   "-r",
                                   std::to_string(request.repetitions),
                                   "-o",
                                   "json"};
  if (request.depth > 0) {
    argv.push_back("-d");
    argv.push_back(std::to_string(request.depth));
  }
  if (request.batch > 0) {
    for (const char* flag : {"-b", "-ub"}) {
      argv.push_back(flag);
      argv.push_back(std::to_string(request.batch));
    }
  }
  return argv;
}

absl::StatusOr<std::vector<LlamaBenchTest>> RunLlamaBench(const LlamaBenchRequest& request) {
  const ProcessResult p = RunProcess(LlamaBenchArgv(request));
  if (!p.started) return absl::FailedPreconditionError(p.error);
  if (p.signal != 0) {
    return absl::InternalError(absl::StrFormat("llama-bench was killed by signal %d; stderr: %s",
                                               p.signal, Tail(p.err, 5)));
  }
  if (p.exit_code != 0) {
    return absl::InternalError(absl::StrFormat("llama-bench exited with status %d; stderr: %s",
                                               p.exit_code, Tail(p.err, 5)));
  }
  return ParseLlamaBenchJson(p.out);
}

const LlamaBenchTest* FindLlamaBenchTest(const std::vector<LlamaBenchTest>& tests, int64_t n_prompt,
                                         int64_t n_gen) {
  for (const LlamaBenchTest& t : tests) {
    if (t.n_prompt == n_prompt && t.n_gen == n_gen) return &t;
  }
  return nullptr;
}

}  // namespace fathom::cli
