#include "common/cli.h"

#include <algorithm>

namespace lxe::cli {

std::vector<std::string> parse_order(std::vector<std::string> args) {
  std::vector<std::string> out;
  out.reserve(args.size() * 2);
  for (auto it = args.rbegin(); it != args.rend(); ++it) {
    if (it->size() > 3 && it->rfind("--", 0) == 0 && it->back() == '=' && it->find('=') == it->size() - 1) {
      out.emplace_back();  // the empty value, after the flag (reversed order)
      out.push_back(it->substr(0, it->size() - 1));
    } else {
      out.push_back(std::move(*it));
    }
  }
  return out;
}

std::string describe(const CLI::ParseError& error) {
  const std::string what = error.what();
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr) {
    // CLI11 2.1's texts: "json was given a disallowed flag override" (the flag as typed, without
    // dashes) and "--db: 1 required TEXT missing".
    static const std::string override_text = " was given a disallowed flag override";
    if (const auto at = what.find(override_text); at != std::string::npos && at + override_text.size() == what.size()) {
      const std::string name = what.substr(0, at);
      return "flag " + std::string(name.size() == 1 ? "-" : "--") + name + " takes no value";
    }
    if (const auto colon = what.find(": "); colon != std::string::npos && what.size() > 8 &&
                                            what.compare(what.size() - 8, 8, " missing") == 0)
      return "flag " + what.substr(0, colon) + " needs a value";
  }
  return what;
}

std::string first_unplaced(const CLI::App& app) {
  for (const auto& word : app.remaining(true))
    if (word != "--") return word;
  return "";
}

std::string HelpFormatter::make_option_name(const CLI::Option* opt, bool is_positional) const {
  if (is_positional) return opt->get_name(true, false);
  std::string names;
  for (const auto& s : opt->get_snames()) names += (names.empty() ? "-" : ", -") + s;
  for (const auto& l : opt->get_lnames()) names += (names.empty() ? "--" : ", --") + l;
  return names;
}

std::string HelpFormatter::make_option_opts(const CLI::Option* opt) const {
  if (!opt->get_option_text().empty()) return " " + opt->get_option_text();
  if (opt->get_type_size() != 0 && !opt->get_type_name().empty()) return " " + opt->get_type_name();
  return "";
}

std::string HelpFormatter::make_option_desc(const CLI::Option* opt) const {
  const std::string& fallback = opt->get_default_str();
  return opt->get_description() + (fallback.empty() ? "" : " (default " + fallback + ")");
}

std::string HelpFormatter::option_lines(const std::vector<const CLI::Option*>& options) const {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto* opt : options)
    rows.emplace_back(make_option_name(opt, false) + make_option_opts(opt), make_option_desc(opt));
  return two_columns(rows);
}

std::string HelpFormatter::two_columns(const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& [left, _] : rows) width = std::max(width, left.size());
  const std::string indent(2 + width + 2, ' ');
  std::string out;
  for (const auto& [left, right] : rows) {
    out += "  " + left;
    if (!right.empty()) out += std::string(width - left.size() + 2, ' ');
    for (const char c : right) {
      out += c;
      if (c == '\n') out += indent;
    }
    out += "\n";
  }
  return out;
}

std::vector<const CLI::Option*> flags_of(const CLI::App& app) {
  return app.get_options([](const CLI::Option* opt) { return opt->nonpositional(); });
}

}  // namespace lxe::cli
