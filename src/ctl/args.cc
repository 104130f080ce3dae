#include "ctl/args.h"

#include <algorithm>
#include <cctype>

#include "common/cli.h"
#include "ctl/command_line.h"

namespace lxe::ctl {
namespace {

constexpr int64_t kNsPerMs = 1'000'000;
constexpr int64_t kNsPerSecond = 1'000'000'000;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// "running", "CONTAINER_RUNNING", "Running" -> "CONTAINER_RUNNING"; "not_ready" -> "SANDBOX_NOTREADY".
std::optional<std::string> cri_state_name(Command command, const std::string& text) {
  std::string s = lower(text);
  const std::string prefix = command == Command::Sandboxes ? "sandbox_" : "container_";
  if (s.rfind(prefix, 0) == 0) s = s.substr(prefix.size());
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  s.erase(std::remove(s.begin(), s.end(), '-'), s.end());
  static const std::vector<std::string> sandbox_states = {"ready", "notready"};
  static const std::vector<std::string> container_states = {"created", "running", "exited", "unknown"};
  const auto& known = command == Command::Sandboxes ? sandbox_states : container_states;
  if (std::find(known.begin(), known.end(), s) == known.end()) return std::nullopt;
  std::string out = prefix + s;
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

std::optional<int> parse_int(const std::string& text) {
  if (text.empty() || text.size() > 9 || !std::all_of(text.begin(), text.end(), ::isdigit)) return std::nullopt;
  return std::stoi(text);
}

// The values of the flags given, checked; the first that is wrong is the error. `inv.command` is
// set. Returns an empty message when every value is good.
std::string apply_flags(const Given& g, Invocation& inv, int64_t now_ns) {
  const Command command = inv.command;
  if (g.db.empty()) return "--db needs a path";
  inv.global.db_path = g.db;
  if (g.lxd_socket) {
    if (g.lxd_socket->empty()) return "--lxd-socket needs a path";
    inv.global.lxd_socket = *g.lxd_socket;
  }
  if (g.color) {
    const std::string& v = *g.color;
    if (v == "auto") inv.global.color = ColorMode::Auto;
    else if (v == "always") inv.global.color = ColorMode::Always;
    else if (v == "never") inv.global.color = ColorMode::Never;
    else return "--color takes auto, always or never, not '" + v + "'";
  }
  if (g.no_color) inv.global.color = ColorMode::Never;
  if (g.json) inv.output = OutputFormat::Json;
  if (g.output) {
    const std::string o = lower(*g.output);
    if (o == "json") inv.output = OutputFormat::Json;
    else if (o == "yaml") inv.output = OutputFormat::Yaml;
    else if (o == "table") inv.output = OutputFormat::Table;
    else return "--output takes json, yaml or table, not '" + *g.output + "'";
  }
  if (g.state) {
    const auto state = cri_state_name(command, *g.state);
    if (!state)
      return std::string("--state of ") +
             (command == Command::Sandboxes ? "sandboxes takes ready or notready"
              : command == Command::Top     ? "top takes created, running, exited or unknown"
                                            : "containers takes created, running, exited or unknown") +
             ", not '" + *g.state + "'";
    inv.filters.state = *state;
  }
  if (g.pod) {
    if (g.pod->empty()) return "--pod needs a pod name or ID prefix";
    inv.filters.pod = *g.pod;
  }
  inv.filters.namespace_ = g.namespace_;
  inv.filters.name = g.name;
  for (const auto& v : g.labels) {
    const auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0) return "--label takes key=value, not '" + v + "'";
    inv.filters.labels.emplace_back(v.substr(0, eq), v.substr(eq + 1));
  }
  inv.show_lxd = g.lxd;
  inv.events.follow = g.follow;
  if (g.since) {
    if (const auto d = parse_duration_ns(*g.since)) inv.events.since_ns = now_ns - *d;
    else if (const auto t = parse_rfc3339_ns(*g.since)) inv.events.since_ns = *t;
    else
      return "--since takes a duration (10m, 1h30m, 2d) or an RFC 3339 time (2024-05-01T12:00:00Z), not '" +
             *g.since + "'";
  }
  if (g.tail) {
    const auto t = parse_int(*g.tail);
    if (!t || *t <= 0) return "--tail takes a positive number, not '" + *g.tail + "'";
    inv.events.tail = *t;
  }
  if (g.poll_interval) {
    const auto d = parse_duration_ns(*g.poll_interval);
    if (!d || *d < 10 * kNsPerMs || *d > 60 * kNsPerSecond)
      return "--poll-interval takes a duration from 10ms to 60s, not '" + *g.poll_interval + "'";
    inv.events.poll_interval = std::chrono::milliseconds(*d / kNsPerMs);
  }
  if (g.lxd_name_prefix) inv.diff.lxd_name_prefix = *g.lxd_name_prefix;
  if (g.settle) {
    const auto d = parse_duration_ns(*g.settle == "0" ? "0s" : *g.settle);
    if (!d || *d > 600 * kNsPerSecond)
      return "--settle takes a duration up to 10m (0 for a single pass), not '" + *g.settle + "'";
    inv.diff.settle = std::chrono::milliseconds(*d / kNsPerMs);
  }
  if (g.interval) {
    const auto d = parse_duration_ns(*g.interval);
    if (!d || *d < 100 * kNsPerMs || *d > 60 * kNsPerSecond)
      return "--interval takes a duration from 100ms to 60s, not '" + *g.interval + "'";
    inv.top.interval = std::chrono::milliseconds(*d / kNsPerMs);
  }
  if (g.sort) {
    const std::string by = lower(*g.sort);
    if (by == "cpu") inv.top.sort = TopSort::Cpu;
    else if (by == "memory") inv.top.sort = TopSort::Memory;
    else return "--sort takes cpu or memory, not '" + *g.sort + "'";
  }
  inv.top.pods = g.pods;
  if (g.cgroup_root) {
    if (g.cgroup_root->empty()) return "--cgroup-root needs a path";
    inv.top.cgroup_root = *g.cgroup_root;
  }
  return "";
}

// The positionals of the command; an empty message when they are right.
std::string apply_args(const std::vector<std::string>& args, Invocation& inv) {
  switch (inv.command) {
    case Command::Help:
      if (args.size() > 1) return "help takes at most one command";
      if (!args.empty()) {
        const CommandInfo* topic = command_info(args[0]);
        if (!topic) return "unknown command '" + args[0] + "'";
        inv.help_topic = topic->name;
      }
      return "";
    case Command::Show:
      if (args.size() != 1) return "show takes exactly one ID (or unique ID prefix)";
      if (args[0].empty()) return "the ID is empty";
      inv.target = args[0];
      return "";
    case Command::Events:
      if (args.size() > 1) return "events takes at most one ID";
      if (!args.empty()) {
        if (args[0].empty()) return "the ID is empty";
        inv.events.target = args[0];
      }
      return "";
    case Command::Top:
      if (args.size() > 1) return "top takes at most one ID";
      if (!args.empty()) {
        if (args[0].empty()) return "the ID is empty";
        inv.top.target = args[0];
      }
      return "";
    default:
      return "";  // the others take none: CLI11 leaves the words unplaced
  }
}

bool is_flag(const std::string& word) { return word.size() > 1 && word[0] == '-'; }

}  // namespace

std::variant<Invocation, UsageError> parse_args(const std::vector<std::string>& args, int64_t now_ns) {
  CommandLine line;
  CLI::App& app = line.app();
  const Given& g = line.given();
  auto command_name = [&]() -> std::string {
    const auto subs = app.get_subcommands();
    return subs.empty() ? "" : subs.front()->get_name();
  };
  try {
    app.parse(cli::parse_order(args));
  } catch (const CLI::ParseError& e) {
    return UsageError{cli::describe(e), command_name()};
  }
  const std::string cname = command_name();
  Invocation inv;
  // A word CLI11 could not place: a flag no command has, a command that does not exist, or an
  // argument a command does not take. Only the last waits for --help.
  if (const std::string word = cli::first_unplaced(app); !word.empty()) {
    if (is_flag(word)) return UsageError{"unknown flag '" + word.substr(0, word.find('=')) + "'", cname};
    if (cname.empty()) return UsageError{"unknown command '" + word + "'", ""};
    if (!g.help) return UsageError{"unexpected argument '" + word + "' for '" + cname + "'", cname};
  }
  if (cname.empty()) {
    if (g.version) {
      inv.command = Command::Version;
    } else {
      if (g.help) return inv;  // Help, the overview
      return UsageError{"no command given", ""};
    }
  }
  if (!cname.empty()) {
    inv.command = command_info(cname)->command;
    if (g.help) {
      inv.command = Command::Help;
      if (cname != "help") inv.help_topic = cname;
      else if (!g.args.empty() && command_info(g.args[0])) inv.help_topic = command_info(g.args[0])->name;
      return inv;
    }
    const CLI::App* sub = app.get_subcommand(cname);
    for (const auto* opt : line.command_flags_taken_by_app())
      if (!sub->get_option_no_throw(opt->get_name()))
        return UsageError{"flag " + opt->get_name() + " does not apply to '" + cname + "'", cname};
    if (g.version) return UsageError{"flag --version does not apply to '" + cname + "'", cname};
  }
  if (std::string error = apply_flags(g, inv, now_ns); !error.empty()) return UsageError{error, cname};
  // (An unknown help topic is no mistake of the help command's: the hint is the overview.)
  if (std::string error = apply_args(g.args, inv); !error.empty())
    return UsageError{error, inv.command == Command::Help ? "" : cname};
  return inv;
}

std::string help_text(const std::string& command) {
  CommandLine line;
  const CommandInfo* info = command_info(command);
  if (!info || info->command == Command::Help) return line.app().help();
  return line.app().get_subcommand(info->name)->help();
}

}  // namespace lxe::ctl
