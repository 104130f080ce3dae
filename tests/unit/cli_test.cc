// The CLI11 conventions lxe, lxe-ctl and lxe-bench share (common/cli.h).
#include <catch2/catch.hpp>

#include "common/cli.h"

using namespace lxe::cli;

TEST_CASE("cli: words go to CLI11 last first, with --flag= split off as an empty value", "[cli]") {
  CHECK(parse_order({"a", "--b", "c"}) == std::vector<std::string>{"c", "--b", "a"});
  CHECK(parse_order({"--db=", "--debug"}) == std::vector<std::string>{"--debug", "", "--db"});
  // Only a trailing '=' after a long flag's name: values with '=' in them stay whole.
  CHECK(parse_order({"--label=a=", "-o=", "--db=/x"}) == std::vector<std::string>{"--db=/x", "-o=", "--label=a="});
}

TEST_CASE("cli: a missing value and a value given to a flag are named in one line", "[cli]") {
  CLI::App app;
  std::string db;
  bool json = false;
  app.add_option("--db", db);
  app.add_flag("-j,--json", json)->disable_flag_override();
  auto error_of = [&](std::vector<std::string> args) -> std::string {
    try {
      app.parse(parse_order(std::move(args)));
    } catch (const CLI::ParseError& e) {
      return describe(e);
    }
    return "";
  };
  CHECK(error_of({"--db"}) == "flag --db needs a value");
  CHECK(error_of({"--json=yes"}) == "flag --json takes no value");
  CHECK(error_of({"--db", "x", "--json"}).empty());
  // Anything else: CLI11's own words.
  CHECK(describe(CLI::ValidationError("--db", "not good")) == "--db: not good");
}

TEST_CASE("cli: the first word CLI11 could not place", "[cli]") {
  CLI::App app;
  app.allow_extras();
  std::vector<std::string> ids;
  app.add_option("ID", ids);
  app.parse(parse_order({"--", "-x"}));
  CHECK(first_unplaced(app).empty());  // after --, -x is a positional
  CLI::App strict;
  strict.allow_extras();
  strict.parse(parse_order({"word", "--flag"}));
  CHECK(first_unplaced(strict) == "word");
}

TEST_CASE("cli: help lines are aligned, continuation lines indented, defaults named", "[cli]") {
  CHECK(HelpFormatter::two_columns({{"a", "one"}, {"long-left", "two\nlines"}, {"none", ""}}) ==
        "  a          one\n"
        "  long-left  two\n"
        "             lines\n"
        "  none\n");
  CLI::App app;
  app.set_help_flag();
  std::string ns;
  bool json = false;
  app.add_option("-n,--namespace", ns, "pods of this namespace")->option_text("NS")->default_str("default");
  app.add_flag("--json", json, "JSON output");
  const HelpFormatter help;
  CHECK(help.option_lines(flags_of(app)) ==
        "  -n, --namespace NS  pods of this namespace (default default)\n"
        "  --json              JSON output\n");
}
