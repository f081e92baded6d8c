// Tests of the tokenizer subcommands of the `fathom` program (tokenize --jsonl, decode,
// chat-template), run as a child process against the fixtures in fixtures/tokenizers.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/cli_runner.h"
#include "support/fixtures.h"

namespace fathom {
namespace {

using ::fathom::testing::FixturePath;
using ::fathom::testing::ReadFile;
using Json = nlohmann::json;

using ::fathom::testing::CliResult;
using ::fathom::testing::RunCli;
using ::fathom::testing::TempPath;

std::vector<Json> ReadJsonLines(const std::string& text) {
  std::vector<Json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    out.push_back(Json::parse(line, nullptr, /*allow_exceptions=*/false));
  }
  return out;
}

struct Fixture {
  const char* dir;
  const char* file;  // the tokenizer file given to --tokenizer
};
constexpr Fixture kFixtures[] = {
    {"deepseek-v3", "tokenizer.json"},     {"qwen3", "tokenizer.json"},
    {"llama3", "tokenizer.json"},          {"llama3-instruct", "tokenizer.json"},
    {"mistral-7b-v0.1", "tokenizer.json"}, {"llama2", "tokenizer.model"},
};

TEST(TokenizerCliTest, JsonlGivesIdsAndIdsWithSpecial) {
  FATHOM_REQUIRE_CLI();
  for (const Fixture& f : kFixtures) {
    SCOPED_TRACE(f.dir);
    const std::string dir = FixturePath(std::string("tokenizers/") + f.dir);
    const std::vector<Json> cases = ReadJsonLines(ReadFile(dir + "/cases.jsonl"));
    ASSERT_FALSE(cases.empty());
    for (bool special : {false, true}) {
      std::vector<std::string> args = {"tokenize", "--tokenizer", dir + "/" + f.file, "--jsonl",
                                       dir + "/cases.jsonl"};
      if (special) args.push_back("--add-special");
      const CliResult r = RunCli(args);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      const std::vector<Json> got = ReadJsonLines(r.out);
      ASSERT_EQ(got.size(), cases.size());
      int mismatches = 0;
      for (size_t i = 0; i < cases.size(); ++i) {
        const Json& want = cases[i][special ? "ids_with_special" : "ids"];
        if (got[i]["ids"] != want && ++mismatches <= 3) {
          ADD_FAILURE() << cases[i]["id"] << " special=" << special << ": got " << got[i]
                        << " want " << want;
        }
      }
      EXPECT_EQ(mismatches, 0);
    }
  }
}

TEST(TokenizerCliTest, DecodeMatchesFixtures) {
  FATHOM_REQUIRE_CLI();
  for (const Fixture& f : kFixtures) {
    SCOPED_TRACE(f.dir);
    const std::string dir = FixturePath(std::string("tokenizers/") + f.dir);
    const std::vector<Json> cases = ReadJsonLines(ReadFile(dir + "/cases.jsonl"));
    int checked = 0;
    for (size_t i = 0; i < cases.size() && checked < 6; i += 37) {
      const Json& c = cases[i];
      if (c["ids"].empty()) continue;
      std::string ids;
      for (const Json& id : c["ids"]) {
        if (!ids.empty()) ids += ',';
        ids += std::to_string(id.get<int>());
      }
      CliResult r = RunCli({"decode", "--tokenizer", dir + "/" + f.file, "--ids", ids});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.out, c["decoded"].get<std::string>()) << c["id"];
      if (c.contains("decoded_skip_special")) {
        r = RunCli({"decode", "--tokenizer", dir + "/" + f.file, "--ids", ids, "--skip-special"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(r.out, c["decoded_skip_special"].get<std::string>()) << c["id"];
      }
      ++checked;
    }
    EXPECT_GT(checked, 0);
  }
}

TEST(TokenizerCliTest, ChatTemplateMatchesChatCases) {
  FATHOM_REQUIRE_CLI();
  int checked = 0;
  for (const char* name : {"deepseek-v3", "qwen3", "llama3", "llama3-instruct"}) {
    SCOPED_TRACE(name);
    const std::string dir = FixturePath(std::string("tokenizers/") + name);
    const Json cases = Json::parse(ReadFile(dir + "/chat_cases.json"), nullptr, false);
    ASSERT_TRUE(cases.is_object());
    for (const Json& c : cases["cases"]) {
      SCOPED_TRACE(c["name"].get<std::string>());
      const std::string messages = TempPath("messages");
      std::ofstream(messages) << c["messages"].dump();
      std::vector<std::string> args = {"chat-template", "--tokenizer", dir, "--messages", messages};
      if (c["add_generation_prompt"].get<bool>()) args.push_back("--add-generation-prompt");
      for (auto it = c["template_kwargs"].begin(); it != c["template_kwargs"].end(); ++it) {
        args.push_back("--var");
        args.push_back(it.key() + "=" + it->dump());
      }
      const CliResult r = RunCli(args);
      unlink(messages.c_str());
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.out, c["rendered"].get<std::string>());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 17);
}

TEST(TokenizerCliTest, Errors) {
  FATHOM_REQUIRE_CLI();
  const std::string dir = FixturePath("tokenizers/qwen3");
  EXPECT_EQ(RunCli({"tokenize", "--jsonl", dir + "/cases.jsonl"}).exit_code, 2);
  EXPECT_EQ(RunCli({"decode", "--tokenizer", dir + "/tokenizer.json"}).exit_code, 2);
  EXPECT_EQ(
      RunCli({"chat-template", "--tokenizer", dir, "--messages", "/nonexistent.json"}).exit_code,
      1);
  EXPECT_EQ(RunCli({"chat-template", "--tokenizer", dir, "--messages", dir + "/cases.jsonl",
                    "--var", "novalue"})
                .exit_code,
            2);
  // A tokenizer without a chat template.
  const std::string messages = TempPath("messages");
  std::ofstream(messages) << R"([{"role":"user","content":"hi"}])";
  const CliResult r = RunCli({"chat-template", "--tokenizer",
                              FixturePath("tokenizers/mistral-7b-v0.1"), "--messages", messages});
  unlink(messages.c_str());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no chat template"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fathom
