#include "ctl/args.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "common/defaults.h"

namespace lxe::ctl {
namespace {

constexpr int64_t kNsPerMs = 1'000'000;
constexpr int64_t kNsPerSecond = 1'000'000'000;

// Which commands a flag applies to (empty: every command).
struct FlagSpec {
  std::string name;       // "--db"
  std::string short_name; // "-o" or ""
  bool takes_value;
  std::vector<Command> commands;
};

const std::vector<FlagSpec>& flag_specs() {
  using C = Command;
  static const std::vector<FlagSpec> specs = {
      {"--db", "", true, {}},
      {"--lxd-socket", "", true, {}},
      {"--color", "", true, {}},
      {"--no-color", "", false, {}},
      {"--help", "-h", false, {}},
      {"--json", "", false, {C::Version, C::Sandboxes, C::Containers, C::Show, C::Events, C::Diff}},
      {"--output", "-o", true, {C::Version, C::Sandboxes, C::Containers, C::Show, C::Events, C::Diff}},
      {"--state", "", true, {C::Sandboxes, C::Containers}},
      {"--pod", "", true, {C::Sandboxes, C::Containers}},
      {"--namespace", "-n", true, {C::Sandboxes, C::Containers}},
      {"--label", "-l", true, {C::Sandboxes, C::Containers}},
      {"--name", "", true, {C::Containers}},
      {"--lxd", "", false, {C::Show}},
      {"--follow", "-f", false, {C::Events}},
      {"--since", "", true, {C::Events}},
      {"--tail", "", true, {C::Events}},
      {"--poll-interval", "", true, {C::Events}},
      {"--lxd-name-prefix", "", true, {C::Diff}},
      {"--settle", "", true, {C::Diff}},
  };
  return specs;
}

const FlagSpec* find_flag(const std::string& name) {
  for (const auto& spec : flag_specs())
    if (spec.name == name || (!spec.short_name.empty() && spec.short_name == name)) return &spec;
  return nullptr;
}

std::optional<Command> command_named(const std::string& name) {
  static const std::map<std::string, Command> commands = {
      {"help", Command::Help},          {"version", Command::Version},   {"sandboxes", Command::Sandboxes},
      {"pods", Command::Sandboxes},     {"containers", Command::Containers}, {"ps", Command::Containers},
      {"show", Command::Show},          {"inspect", Command::Show},      {"events", Command::Events},
      {"diff", Command::Diff},          {"check", Command::Diff},
  };
  const auto it = commands.find(name);
  if (it == commands.end()) return std::nullopt;
  return it->second;
}

std::string canonical_name(Command c) {
  switch (c) {
    case Command::Help: return "help";
    case Command::Version: return "version";
    case Command::Sandboxes: return "sandboxes";
    case Command::Containers: return "containers";
    case Command::Show: return "show";
    case Command::Events: return "events";
    case Command::Diff: return "diff";
  }
  return "";
}

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

}  // namespace

std::optional<int64_t> parse_duration_ns(const std::string& text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j == i || j - i > 12) return std::nullopt;
    const int64_t n = std::stoll(text.substr(i, j - i));
    size_t k = j;
    while (k < text.size() && std::isalpha(static_cast<unsigned char>(text[k]))) ++k;
    const std::string unit = text.substr(j, k - j);
    int64_t scale = 0;
    if (unit == "ms") scale = kNsPerMs;
    else if (unit == "s") scale = kNsPerSecond;
    else if (unit == "m") scale = 60 * kNsPerSecond;
    else if (unit == "h") scale = 3600 * kNsPerSecond;
    else if (unit == "d") scale = 86400 * kNsPerSecond;
    else return std::nullopt;
    total += n * scale;
    i = k;
  }
  return total;
}

std::optional<int64_t> parse_rfc3339_ns(const std::string& text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM); a space or lowercase t is accepted for T.
  if (text.size() < 20) return std::nullopt;
  auto digits = [&](size_t pos, size_t n) -> std::optional<int> {
    if (pos + n > text.size()) return std::nullopt;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  const auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  const auto hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      text[13] != ':' || text[16] != ':')
    return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60)
    return std::nullopt;
  size_t pos = 19;
  int64_t fraction_ns = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int64_t scale = 100'000'000;
    const size_t start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      fraction_ns += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int64_t offset_s = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '+' ? 1 : -1;
    const auto oh = digits(pos + 1, 2), om = digits(pos + 4, 2);
    if (!oh || !om || pos + 3 >= text.size() || text[pos + 3] != ':') return std::nullopt;
    offset_s = sign * (*oh * 3600 + *om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  const std::time_t t = timegm(&tm);
  return (static_cast<int64_t>(t) - offset_s) * kNsPerSecond + fraction_ns;
}

std::variant<Invocation, UsageError> parse_args(const std::vector<std::string>& args, int64_t now_ns) {
  Invocation inv;
  inv.global.db_path = kDefaultDbPath;

  // Pass 1: split flags (with their values) from positionals; the command is the first positional.
  struct Flag {
    const FlagSpec* spec;
    std::string given;  // as typed, for messages
    std::string value;
  };
  std::vector<Flag> flags;
  std::vector<std::string> positionals;
  bool help = false;
  bool only_positionals = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_positionals || a.size() < 2 || a[0] != '-') {
      positionals.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positionals = true;
      continue;
    }
    std::string name = a, value;
    bool has_inline_value = false;
    if (const auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_inline_value = true;
    }
    if (name == "--version" && positionals.empty()) {  // `lxe-ctl --version`
      positionals.push_back("version");
      continue;
    }
    const FlagSpec* spec = find_flag(name);
    if (!spec) return UsageError{"unknown flag '" + name + "'", positionals.empty() ? "" : positionals[0]};
    if (spec->name == "--help") {
      help = true;
      continue;
    }
    if (spec->takes_value && !has_inline_value) {
      if (i + 1 >= args.size())
        return UsageError{"flag " + name + " needs a value", positionals.empty() ? "" : positionals[0]};
      value = args[++i];
    } else if (!spec->takes_value && has_inline_value) {
      return UsageError{"flag " + name + " takes no value", positionals.empty() ? "" : positionals[0]};
    }
    flags.push_back({spec, name, value});
  }

  if (positionals.empty()) {
    if (help) return inv;  // Help, overview
    return UsageError{"no command given", ""};
  }
  const auto command = command_named(positionals[0]);
  if (!command) return UsageError{"unknown command '" + positionals[0] + "'", ""};
  inv.command = *command;
  const std::string cname = canonical_name(*command);
  positionals.erase(positionals.begin());
  if (help) {
    inv.command = Command::Help;
    inv.help_topic = cname == "help" ? (positionals.empty() ? "" : positionals[0]) : cname;
    return inv;
  }

  // Pass 2: each flag must belong to the command; apply it.
  for (const auto& f : flags) {
    const auto& allowed = f.spec->commands;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), *command) == allowed.end())
      return UsageError{"flag " + f.given + " does not apply to '" + cname + "'", cname};
    const std::string& n = f.spec->name;
    const std::string& v = f.value;
    if (n == "--db") {
      if (v.empty()) return UsageError{"--db needs a path", cname};
      inv.global.db_path = v;
    } else if (n == "--lxd-socket") {
      if (v.empty()) return UsageError{"--lxd-socket needs a path", cname};
      inv.global.lxd_socket = v;
    } else if (n == "--color") {
      if (v == "auto") inv.global.color = ColorMode::Auto;
      else if (v == "always") inv.global.color = ColorMode::Always;
      else if (v == "never") inv.global.color = ColorMode::Never;
      else return UsageError{"--color takes auto, always or never, not '" + v + "'", cname};
    } else if (n == "--no-color") {
      inv.global.color = ColorMode::Never;
    } else if (n == "--json") {
      inv.output = OutputFormat::Json;
    } else if (n == "--output") {
      const std::string o = lower(v);
      if (o == "json") inv.output = OutputFormat::Json;
      else if (o == "yaml") inv.output = OutputFormat::Yaml;
      else if (o == "table") inv.output = OutputFormat::Table;
      else return UsageError{"--output takes json, yaml or table, not '" + v + "'", cname};
    } else if (n == "--state") {
      const auto state = cri_state_name(*command, v);
      if (!state)
        return UsageError{"--state of " + cname + " takes " +
                              (*command == Command::Sandboxes ? "ready or notready"
                                                              : "created, running, exited or unknown") +
                              ", not '" + v + "'",
                          cname};
      inv.filters.state = *state;
    } else if (n == "--pod") {
      if (v.empty()) return UsageError{"--pod needs a pod name or ID prefix", cname};
      inv.filters.pod = v;
    } else if (n == "--namespace") {
      inv.filters.namespace_ = v;
    } else if (n == "--name") {
      inv.filters.name = v;
    } else if (n == "--label") {
      const auto eq = v.find('=');
      if (eq == std::string::npos || eq == 0)
        return UsageError{"--label takes key=value, not '" + v + "'", cname};
      inv.filters.labels.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (n == "--lxd") {
      inv.show_lxd = true;
    } else if (n == "--follow") {
      inv.events.follow = true;
    } else if (n == "--since") {
      if (const auto d = parse_duration_ns(v)) inv.events.since_ns = now_ns - *d;
      else if (const auto t = parse_rfc3339_ns(v)) inv.events.since_ns = *t;
      else
        return UsageError{"--since takes a duration (10m, 1h30m, 2d) or an RFC 3339 time (2024-05-01T12:00:00Z), "
                          "not '" + v + "'",
                          cname};
    } else if (n == "--tail") {
      const auto t = parse_int(v);
      if (!t || *t <= 0) return UsageError{"--tail takes a positive number, not '" + v + "'", cname};
      inv.events.tail = *t;
    } else if (n == "--poll-interval") {
      const auto d = parse_duration_ns(v);
      if (!d || *d < 10 * kNsPerMs || *d > 60 * kNsPerSecond)
        return UsageError{"--poll-interval takes a duration from 10ms to 60s, not '" + v + "'", cname};
      inv.events.poll_interval = std::chrono::milliseconds(*d / kNsPerMs);
    } else if (n == "--lxd-name-prefix") {
      inv.diff.lxd_name_prefix = v;
    } else if (n == "--settle") {
      const auto d = parse_duration_ns(v == "0" ? "0s" : v);
      if (!d || *d > 600 * kNsPerSecond)
        return UsageError{"--settle takes a duration up to 10m (0 for a single pass), not '" + v + "'", cname};
      inv.diff.settle = std::chrono::milliseconds(*d / kNsPerMs);
    }
  }

  // Positionals of each command.
  switch (*command) {
    case Command::Help:
      if (positionals.size() > 1) return UsageError{"help takes at most one command", cname};
      inv.help_topic = positionals.empty() ? "" : positionals[0];
      if (!inv.help_topic.empty()) {
        const auto topic = command_named(inv.help_topic);
        if (!topic) return UsageError{"unknown command '" + inv.help_topic + "'", ""};
        inv.help_topic = canonical_name(*topic);
      }
      break;
    case Command::Show:
      if (positionals.size() != 1) return UsageError{"show takes exactly one ID (or unique ID prefix)", cname};
      if (positionals[0].empty()) return UsageError{"the ID is empty", cname};
      inv.target = positionals[0];
      break;
    case Command::Events:
      if (positionals.size() > 1) return UsageError{"events takes at most one ID", cname};
      if (!positionals.empty()) {
        if (positionals[0].empty()) return UsageError{"the ID is empty", cname};
        inv.events.target = positionals[0];
      }
      break;
    default:
      if (!positionals.empty())
        return UsageError{"unexpected argument '" + positionals[0] + "' for '" + cname + "'", cname};
  }
  return inv;
}

std::string help_text(const std::string& command) {
  const std::string output_flags =
      "  --json              JSON output, the same as --output json\n"
      "  -o, --output FMT    table (default), json or yaml\n";
  if (command == "sandboxes")
    return "Usage: lxe-ctl sandboxes [flags]   (alias: pods)\n"
           "\n"
           "Lists the pod sandboxes in the store, oldest first: ID prefix, name, namespace, attempt, CRI state\n"
           "(as kubelet sees it), desired and observed state, age and last reconcile error.\n"
           "\n"
           "Flags:\n"
           "  --state STATE       ready or notready (SANDBOX_READY / SANDBOX_NOTREADY)\n"
           "  --pod POD           pod name, or pod sandbox ID prefix\n"
           "  -n, --namespace NS  pods of this namespace\n"
           "  -l, --label K=V     pods with this label (repeat: all must match)\n" +
           output_flags;
  if (command == "containers")
    return "Usage: lxe-ctl containers [flags]   (alias: ps)\n"
           "\n"
           "Lists the containers in the store, oldest first: ID prefix, name, attempt, namespace, pod, image,\n"
           "CRI state (as kubelet sees it), desired and observed state, age and last reconcile error. The\n"
           "JSON form uses CRI's state names (\"state\": \"CONTAINER_RUNNING\"), as `crictl ps -a -o json`.\n"
           "\n"
           "Flags:\n"
           "  --state STATE       created, running, exited or unknown (CONTAINER_RUNNING, ...)\n"
           "  --pod POD           containers of this pod: pod name, or pod sandbox ID prefix\n"
           "  -n, --namespace NS  containers of pods of this namespace\n"
           "  --name NAME         containers of this name\n"
           "  -l, --label K=V     containers with this label (repeat: all must match)\n" +
           output_flags;
  if (command == "show")
    return "Usage: lxe-ctl show [flags] ID   (alias: inspect)\n"
           "\n"
           "Everything the store holds about one pod sandbox or container: the CRI config as received,\n"
           "desired vs observed state, generation numbers, the LXD objects it maps to, the resources in\n"
           "force, exit code, log path, and its most recent reconcile events. ID is a full ID, a unique\n"
           "prefix of one, or the LXD name of the object.\n"
           "\n"
           "Flags:\n"
           "  --lxd               also read the LXD instance (status, managed limits, devices); LXD is\n"
           "                      only read, never changed\n" +
           output_flags;
  if (command == "events")
    return "Usage: lxe-ctl events [flags] [ID]\n"
           "\n"
           "The reconciler's event log in time order: for each action, what it worked toward (the\n"
           "generation), what it did, and what came of it (ok or error, with a detail). ID (full, a unique\n"
           "prefix, or an LXD name) limits it to one object; the log outlives the objects, so IDs of\n"
           "removed objects work too.\n"
           "\n"
           "Flags:\n"
           "  -f, --follow        keep printing new events (polls the store every 500 ms) until\n"
           "                      interrupted (SIGINT/SIGTERM). JSON output is then one object per line\n"
           "  --since WHEN        events at or after WHEN: a duration back from now (30s, 10m, 1h30m, 2d)\n"
           "                      or an RFC 3339 time (2024-05-01T12:00:00Z)\n"
           "  --tail N            only the last N events (then follow, with --follow)\n"
           "  --poll-interval D   how often --follow polls (default 500ms)\n" +
           output_flags;
  if (command == "diff")
    return "Usage: lxe-ctl diff [flags]   (alias: check)\n"
           "\n"
           "Compares the store with what LXD has (LXD's API is only read; nothing changes) and lists the\n"
           "drift:\n"
           "  missing   an object the store expects is not in LXD (instance or profile)\n"
           "  unknown   an LXD object marked as lxe's (user.lxe.managed=true) that the store does not know\n"
           "  foreign   an LXD object has the expected name but another lxe ID\n"
           "  state     LXD's running state contradicts the observed state in the store\n"
           "  limits    managed limits.* differ from the record's resources\n"
           "  device    a device lxe adds (lxe-init, lxe-state, lxe-log) is missing\n"
           "Objects lxe is still reconciling (observed generation behind, being removed, not yet\n"
           "observed) are not compared. A difference must still be there after --settle to count.\n"
           "Exit code 1 when drift is found, 0 when none: suitable for monitoring.\n"
           "\n"
           "Flags:\n"
           "  --lxd-name-prefix P only LXD objects named P-... are this lxe's (as lxe's --lxd-name-prefix;\n"
           "                      default: every object marked user.lxe.managed=true)\n"
           "  --settle D          re-check drift after D and report what persists (default 2s; 0: once)\n"
           "  --lxd-socket PATH   LXD's unix socket\n" +
           output_flags;
  if (command == "version")
    return "Usage: lxe-ctl version [flags]\n"
           "\n"
           "Prints lxe-ctl's version and the store schema version it reads (it refuses any other).\n"
           "\n"
           "Flags:\n" +
           output_flags;
  return std::string(
             "Usage: lxe-ctl [global flags] <command> [flags] [args]\n"
             "\n"
             "Inspects lxe's store read-only: lxe-ctl never writes to it, never migrates it, and does not\n"
             "block lxe while it runs. `diff` and `show --lxd` also read LXD's API, and change nothing.\n"
             "\n"
             "Commands:\n"
             "  sandboxes      list pod sandboxes (alias: pods)\n"
             "  containers     list containers (alias: ps)\n"
             "  show ID        everything stored about one sandbox or container (alias: inspect)\n"
             "  events [ID]    the reconcile event log, in time order (--follow to keep watching)\n"
             "  diff           compare the store with LXD and list the drift (alias: check)\n"
             "  version        print lxe-ctl's version and the store schema version it reads\n"
             "  help [CMD]     this help, or a command's (also: lxe-ctl CMD --help)\n"
             "\n"
             "Global flags:\n"
             "  --db PATH          lxe's store (default ") +
         kDefaultDbPath +
         ", as lxe's --db)\n"
         "  --lxd-socket PATH  LXD's unix socket (default: the first that exists of\n"
         "                     /var/snap/lxd/common/lxd/unix.socket, /var/lib/lxd/unix.socket)\n"
         "  --color WHEN       auto (colour on a terminal unless NO_COLOR is set), always, never\n"
         "  --no-color         the same as --color never\n"
         "  -h, --help         help\n"
         "\n"
         "Output: aligned tables for people; --json or --output json|yaml for scripts (stable field\n"
         "names, times as RFC 3339 UTC strings, null when not set).\n"
         "\n"
         "Exit codes:\n"
         "  0  success (diff: no drift)\n"
         "  1  diff: drift found\n"
         "  2  usage error\n"
         "  3  unknown ID, or an ID prefix that matches more than one object\n"
         "  4  the store is unusable: missing, locked, unreadable, or of another schema version\n"
         "     (written by a newer lxe, or not yet migrated by this version's lxe)\n"
         "  5  LXD is unreachable or refused a read (diff, show --lxd)\n"
         "  6  internal error\n";
}

}  // namespace lxe::ctl
