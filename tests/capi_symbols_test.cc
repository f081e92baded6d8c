// Checks that the shared library exports the C ABI and nothing else: every defined dynamic symbol
// of libfathom starts with fathom_ (DESIGN.md §3), and the functions of capi/fathom.h are there.
#include <cstdio>
#include <set>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace {

#if defined(FATHOM_SHARED_LIBRARY) && defined(FATHOM_NM)
// Runs `nm -D --defined-only` on the shared library; returns the symbol names.
std::set<std::string> ExportedSymbols() {
  const std::string command =
      std::string("'") + FATHOM_NM + "' -D --defined-only '" + FATHOM_SHARED_LIBRARY + "'";
  std::set<std::string> symbols;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run " << command;
    return symbols;
  }
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  EXPECT_EQ(pclose(pipe), 0) << command;
  // Lines are "ADDRESS TYPE NAME"; keep NAME (without a version suffix such as @@VERS_1).
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t space = line.rfind(' ');
    std::string name = space == std::string::npos ? line : line.substr(space + 1);
    name = name.substr(0, name.find('@'));
    if (!name.empty()) symbols.insert(name);
  }
  return symbols;
}

TEST(CapiSymbols, OnlyFathomSymbolsAreExported) {
  // Symbols the linker itself may define in any shared object.
  const std::set<std::string> linker_symbols = {"_init", "_fini", "_edata", "_end", "__bss_start"};
  const std::set<std::string> symbols = ExportedSymbols();
  ASSERT_FALSE(symbols.empty());
  for (const std::string& s : symbols) {
    if (linker_symbols.count(s) != 0) continue;
    EXPECT_EQ(s.rfind("fathom_", 0), 0u) << "exported symbol without the fathom_ prefix: " << s;
  }
}

TEST(CapiSymbols, TheCApiIsExported) {
  const std::set<std::string> symbols = ExportedSymbols();
  for (const char* f : {"fathom_abi_version",
                        "fathom_version_string",
                        "fathom_last_error",
                        "fathom_status_string",
                        "fathom_free",
                        "fathom_model_params_init",
                        "fathom_model_load",
                        "fathom_model_free",
                        "fathom_model_architecture",
                        "fathom_model_n_vocab",
                        "fathom_tokenize",
                        "fathom_token_to_piece",
                        "fathom_detokenize",
                        "fathom_session_create",
                        "fathom_session_evaluate",
                        "fathom_session_logits",
                        "fathom_session_generate",
                        "fathom_session_cancel",
                        "fathom_sampler_create",
                        "fathom_sampler_sample",
                        "fathom_model_kv_bytes_per_token",
                        "fathom_model_chat_template",
                        "fathom_detokenizer_create",
                        "fathom_detokenizer_push",
                        "fathom_detokenizer_flush",
                        "fathom_detokenizer_free",
                        "fathom_set_log_callback",
                        "fathom_set_log_level"}) {
    EXPECT_EQ(symbols.count(f), 1u) << f << " is not exported";
  }
}
#else
TEST(CapiSymbols, OnlyFathomSymbolsAreExported) {
  GTEST_SKIP() << "built without the shared library or nm";
}
#endif

}  // namespace
