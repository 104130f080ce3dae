// lxe-ctl's command line: what the user asked for, or why the command line is wrong. Parsing does no
// I/O (the time `--since` is relative to is passed in), so it is unit-tested as a pure function.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace lxe::ctl {

// The exit codes of lxe-ctl; `lxe-ctl --help` and docs/lxe-ctl.md list them.
enum ExitCode : int {
  kExitOk = 0,
  kExitDrift = 1,           // diff: the store and LXD differ
  kExitUsage = 2,           // bad command line
  kExitNotFound = 3,        // unknown ID, or a prefix that matches more than one object
  kExitStoreUnusable = 4,   // the store is missing, locked, unreadable, or of another schema version
  kExitLxdUnavailable = 5,  // LXD unreachable, or it refused a read
  kExitInternal = 6,        // anything else (a bug: please report it)
};

enum class Command { Help, Version, Sandboxes, Containers, Show, Events, Diff, Top };

enum class OutputFormat { Table, Json, Yaml };

enum class ColorMode { Auto, Always, Never };

struct GlobalOptions {
  std::string db_path;     // --db; defaults to lxe's default store
  std::string lxd_socket;  // --lxd-socket; empty: the first LXD socket that exists
  ColorMode color = ColorMode::Auto;
};

// Filters of `sandboxes` and `containers`; every one given must match.
struct ListFilters {
  std::optional<std::string> state;      // CRI state name: SANDBOX_READY, CONTAINER_RUNNING, ...
  std::optional<std::string> pod;        // pod name, or pod sandbox ID prefix
  std::optional<std::string> namespace_;
  std::optional<std::string> name;       // container name (containers only)
  std::vector<std::pair<std::string, std::string>> labels;  // --label k=v
};

struct EventsOptions {
  bool follow = false;
  int64_t since_ns = 0;  // only events at or after this time; 0: all
  int tail = 0;          // only the last N events (before following); 0: all
  std::string target;    // object ID or unique prefix; empty: every object
  std::chrono::milliseconds poll_interval{500};
};

struct DiffOptions {
  // Only LXD objects named "<prefix>-..." count as this lxe's (as lxe's --lxd-name-prefix). Empty:
  // every object marked user.lxe.managed=true.
  std::string lxd_name_prefix;
  // Drift must still be there after this long to be reported (transient differences while lxe
  // reconciles are not drift). 0: one pass.
  std::chrono::milliseconds settle{2000};
};

// How `top` orders its rows: as `containers` lists them (oldest first), or by CPU or memory, the
// largest first.
enum class TopSort { None, Cpu, Memory };

struct TopOptions {
  // The CPU rate is the CPU time used between two samples this far apart.
  std::chrono::milliseconds interval{1000};
  TopSort sort = TopSort::None;
  bool pods = false;                          // one row per pod: the sum of its containers shown
  std::string cgroup_root = "/sys/fs/cgroup";  // where the host's cgroups are mounted
  std::string target;                          // container ID prefix or LXD name; empty: every container
};

struct Invocation {
  Command command = Command::Help;
  // For Help: the command whose help to print (empty: the overview).
  std::string help_topic;
  GlobalOptions global;
  OutputFormat output = OutputFormat::Table;
  ListFilters filters;
  std::string target;     // show: ID, unique prefix or LXD name
  bool show_lxd = false;  // show --lxd: also read the LXD object
  EventsOptions events;
  DiffOptions diff;
  TopOptions top;
};

struct UsageError {
  std::string message;
  std::string command;  // the command the error is about ("" for global errors), for the hint
};

// `args` excludes argv[0]. `now_ns` is the time relative durations (`--since 10m`) count back from.
std::variant<Invocation, UsageError> parse_args(const std::vector<std::string>& args, int64_t now_ns);

// The help text of `command` ("" or unknown: the overview with the commands and the exit codes).
std::string help_text(const std::string& command);

// "90s", "5m", "1h30m", "2d", "250ms" -> nanoseconds; nothing when malformed.
std::optional<int64_t> parse_duration_ns(const std::string& text);
// RFC 3339 ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00.5+02:00") -> nanoseconds since the epoch.
std::optional<int64_t> parse_rfc3339_ns(const std::string& text);

}  // namespace lxe::ctl
