// Command-line parsing for the fathom CLI: one OptionParser per subcommand, strict number parsing
// (a malformed or out-of-range number is an error, never a silent 0).
#ifndef FATHOM_EXAMPLES_CLI_ARGS_H_
#define FATHOM_EXAMPLES_CLI_ARGS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace fathom::cli {

// Exit codes of the fathom program.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command ran and failed (bad model file, ...)
inline constexpr int kExitUsage = 2;    // the command line is wrong

// Each returns false (and leaves *out alone) unless the whole text is a valid, in-range value.
bool ParseInt32(std::string_view text, int32_t* out);
bool ParseUint64(std::string_view text, uint64_t* out);
bool ParseFloat(std::string_view text, float* out);  // finite values only
// "1,2,3" (spaces around the commas allowed) -> {1, 2, 3}; ids must be >= 0; at least one.
bool ParseIdList(std::string_view text, std::vector<int32_t>* out);

class OptionParser {
 public:
  // `command` is e.g. "run" (used in messages and usage), `summary` one line about it.
  OptionParser(std::string command, std::string summary);

  // `names` is a comma-separated list such as "-m,--model". `value_name` names the argument in
  // the usage text. The help text should mention the default.
  void AddString(std::string names, std::string value_name, std::string help, std::string* out);
  void AddInt32(std::string names, std::string value_name, std::string help, int32_t* out);
  void AddUint64(std::string names, std::string value_name, std::string help, uint64_t* out);
  void AddFloat(std::string names, std::string value_name, std::string help, float* out);
  void AddIds(std::string names, std::string value_name, std::string help,
              std::vector<int32_t>* out);
  void AddFlag(std::string names, std::string help, bool* out);

  // Parses argv[0..argc) (the arguments after the subcommand). Returns false with *error set
  // on an unknown option, a missing or malformed value, or a stray positional argument.
  // -h/--help sets help_requested() and stops parsing.
  bool Parse(int argc, char** argv, std::string* error);
  bool help_requested() const { return help_requested_; }
  // Whether the option with this name (any of its spellings) was given.
  bool Given(std::string_view name) const;

  const std::string& command() const { return command_; }
  std::string Usage() const;

 private:
  struct Option {
    std::vector<std::string> names;
    std::string value_name;  // empty for flags
    std::string help;
    // Stores the value; false when it is malformed.
    std::function<bool(std::string_view)> set;
    bool given = false;
  };
  void Add(std::string names, std::string value_name, std::string help,
           std::function<bool(std::string_view)> set);
  Option* Find(std::string_view name);
  const Option* Find(std::string_view name) const;

  std::string command_;
  std::string summary_;
  std::vector<Option> options_;
  bool help_requested_ = false;
};

}  // namespace fathom::cli

#endif  // FATHOM_EXAMPLES_CLI_ARGS_H_
