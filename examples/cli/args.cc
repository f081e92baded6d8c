// Command-line parsing for the fathom CLI (see args.h).
#include "args.h"

#include <charconv>
#include <cmath>
#include <sstream>
#include <system_error>
#include <utility>

namespace fathom::cli {
namespace {

template <typename T>
bool ParseWhole(std::string_view text, T* out) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return false;
  *out = value;
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string> SplitNames(const std::string& names) {
  std::vector<std::string> out;
  std::string_view rest = names;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    out.emplace_back(rest.substr(0, comma));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

bool ParseInt32(std::string_view text, int32_t* out) { return ParseWhole(text, out); }

bool ParseUint64(std::string_view text, uint64_t* out) { return ParseWhole(text, out); }

bool ParseFloat(std::string_view text, float* out) {
  float value;
  if (!ParseWhole(text, &value) || !std::isfinite(value)) return false;
  *out = value;
  return true;
}

bool ParseIdList(std::string_view text, std::vector<int32_t>* out) {
  std::vector<int32_t> ids;
  while (true) {
    const size_t comma = text.find(',');
    int32_t id;
    if (!ParseInt32(Trim(text.substr(0, comma)), &id) || id < 0) return false;
    ids.push_back(id);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  *out = std::move(ids);
  return true;
}

OptionParser::OptionParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

void OptionParser::Add(std::string names, std::string value_name, std::string help,
                       std::function<bool(std::string_view)> set) {
  options_.push_back(
      Option{SplitNames(names), std::move(value_name), std::move(help), std::move(set)});
}

void OptionParser::AddString(std::string names, std::string value_name, std::string help,
                             std::string* out) {
  Add(std::move(names), std::move(value_name), std::move(help), [out](std::string_view v) {
    out->assign(v);
    return true;
  });
}

void OptionParser::AddInt32(std::string names, std::string value_name, std::string help,
                            int32_t* out) {
  Add(std::move(names), std::move(value_name), std::move(help),
      [out](std::string_view v) { return ParseInt32(v, out); });
}

void OptionParser::AddUint64(std::string names, std::string value_name, std::string help,
                             uint64_t* out) {
  Add(std::move(names), std::move(value_name), std::move(help),
      [out](std::string_view v) { return ParseUint64(v, out); });
}

void OptionParser::AddFloat(std::string names, std::string value_name, std::string help,
                            float* out) {
  Add(std::move(names), std::move(value_name), std::move(help),
      [out](std::string_view v) { return ParseFloat(v, out); });
}

void OptionParser::AddIds(std::string names, std::string value_name, std::string help,
                          std::vector<int32_t>* out) {
  Add(std::move(names), std::move(value_name), std::move(help),
      [out](std::string_view v) { return ParseIdList(v, out); });
}

void OptionParser::AddFlag(std::string names, std::string help, bool* out) {
  Add(std::move(names), "", std::move(help), [out](std::string_view) {
    *out = true;
    return true;
  });
}

OptionParser::Option* OptionParser::Find(std::string_view name) {
  for (Option& o : options_) {
    for (const std::string& n : o.names) {
      if (n == name) return &o;
    }
  }
  return nullptr;
}

const OptionParser::Option* OptionParser::Find(std::string_view name) const {
  return const_cast<OptionParser*>(this)->Find(name);
}

bool OptionParser::Given(std::string_view name) const {
  const Option* o = Find(name);
  return o != nullptr && o->given;
}

bool OptionParser::Parse(int argc, char** argv, std::string* error) {
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      help_requested_ = true;
      return true;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      *error = "unexpected argument '" + std::string(arg) + "'";
      return false;
    }
    // "--name=value" carries its value; otherwise a valued option takes the next argument.
    std::string_view name = arg;
    std::string_view inline_value;
    bool has_inline_value = false;
    if (const size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
      has_inline_value = true;
    }
    Option* option = Find(name);
    if (option == nullptr) {
      *error = "unknown option '" + std::string(name) + "'";
      return false;
    }
    std::string_view value;
    if (option->value_name.empty()) {
      if (has_inline_value) {
        *error = "option '" + std::string(name) + "' takes no value";
        return false;
      }
    } else if (has_inline_value) {
      value = inline_value;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      *error = "option '" + std::string(name) + "' needs a value (" + option->value_name + ")";
      return false;
    }
    if (!option->set(value)) {
      *error = "invalid value '" + std::string(value) + "' for option '" + std::string(name) +
               "' (" + option->value_name + ")";
      return false;
    }
    option->given = true;
  }
  return true;
}

std::string OptionParser::Usage() const {
  std::ostringstream out;
  out << "usage: fathom " << command_ << " [options]\n" << summary_ << "\n\noptions:\n";
  const auto line = [&out](const std::string& spelled, const std::string& help) {
    constexpr size_t kHelpColumn = 28;
    out << "  " << spelled;
    if (spelled.size() + 2 < kHelpColumn) {
      out << std::string(kHelpColumn - 2 - spelled.size(), ' ');
    } else {
      out << "\n" << std::string(kHelpColumn, ' ');
    }
    out << help << "\n";
  };
  for (const Option& o : options_) {
    std::string spelled;
    for (const std::string& n : o.names) {
      if (!spelled.empty()) spelled += ", ";
      spelled += n;
    }
    if (!o.value_name.empty()) spelled += " " + o.value_name;
    line(spelled, o.help);
  }
  line("-h, --help", "show this help");
  return out.str();
}

}  // namespace fathom::cli
