// lxe-ctl's commands and flags, declared once with CLI11: the parser (args.cc) and the help both
// come from these declarations. Internal to lxe-ctl's library.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ctl/args.h"

namespace lxe::ctl {

// What the words of a command line said, before parse_args interprets and checks the values.
struct Given {
  std::string db;
  std::optional<std::string> lxd_socket, color;
  bool no_color = false, help = false, version = false;
  bool json = false;
  std::optional<std::string> output;
  std::optional<std::string> state, pod, namespace_, name;
  std::vector<std::string> labels;
  bool lxd = false, follow = false;
  std::optional<std::string> since, tail, poll_interval;
  std::optional<std::string> lxd_name_prefix, settle;
  std::optional<std::string> interval, sort, cgroup_root;
  bool pods = false;
  std::vector<std::string> args;  // positionals: the ID of show, events and top, the topic of help
};

struct CommandInfo {
  Command command;
  const char* name;
  const char* alias;    // "" when none
  const char* args;     // its positionals in the usage line: "ID", "[ID]", "[CMD]", ""
  const char* summary;  // its line in the overview
  const char* about;    // what its help says it does
};

// Every command, in the order the overview lists them.
const std::vector<CommandInfo>& command_infos();
const CommandInfo* command_info(const std::string& name_or_alias);

// The app, bound to `given`. Global flags belong to the app; each command is a subcommand with its
// own flags, which a subcommand's help lists. Every command flag is also accepted, hidden, by the
// app itself, so that it may come before the command as well as after it; parse_args refuses one
// that the command does not have. Words the app cannot place are left for parse_args to name.
class CommandLine {
 public:
  CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  CLI::App& app() { return app_; }
  const Given& given() const { return given_; }

  // The command flags the app itself took: given before the command, or after a command that
  // does not have them (the subcommand passes them on to the app).
  std::vector<const CLI::Option*> command_flags_taken_by_app() const;

 private:
  Given given_;
  CLI::App app_;
};

}  // namespace lxe::ctl
