// What lxe's three command lines (lxe, lxe-ctl, lxe-bench) share on top of CLI11: a mistake is one
// line that names the flag, and help lists flags as "  -n, --namespace NS   what it does", aligned.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace lxe::cli {

// The words of a command line (without argv[0]) as CLI::App::parse takes them: last word first.
// Each `--flag=` becomes `--flag` followed by an empty word, because CLI11 2.1 reads `--flag=` as
// `--flag` and takes the next word for the value (`--db= --debug` would set the store to
// "--debug"); an empty value is then refused by the flag's own check.
std::vector<std::string> parse_order(std::vector<std::string> args);

// One line for a CLI11 parse error: "flag --db needs a value", "flag --json takes no value"; other
// errors in CLI11's words.
std::string describe(const CLI::ParseError& error);

// The first word CLI11 could not place (the app and its subcommands allow extras), skipping the
// `--` that ends the flags; empty when every word was placed.
std::string first_unplaced(const CLI::App& app);

// Help text pieces. The left column is the names ("-n, --namespace") and the option_text of a
// flag that takes a value ("NS"); the right column its description, then "(default X)" when the
// flag has a default_str. Columns are as wide as the widest left column plus two.
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_name(const CLI::Option* opt, bool is_positional) const override;
  std::string make_option_opts(const CLI::Option* opt) const override;
  std::string make_option_desc(const CLI::Option* opt) const override;

  // The lines of `options`, aligned.
  std::string option_lines(const std::vector<const CLI::Option*>& options) const;
  // Aligned "  left  right" lines; continuation lines of `right` are indented to its column.
  static std::string two_columns(const std::vector<std::pair<std::string, std::string>>& rows);
};

// The flags (not the positionals) of `app`, in the order they were declared.
std::vector<const CLI::Option*> flags_of(const CLI::App& app);

}  // namespace lxe::cli
