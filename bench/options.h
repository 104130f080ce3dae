// lxe-bench's command line (CLI11), and what each mode (quick, full) measures.
#pragma once

#include <algorithm>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace lxe::bench {

struct Options {
  bool quick = false;
  bool sweep_only = false;
  bool keep_tmp = false;
  int hold_s = 0;                       // --hold: before cleaning up, keep everything this long (to profile lxe)
  std::string lxe;                      // empty: the lxe next to this binary (complete_options)
  std::string lxd_socket;               // empty: the first of the usual two that exists
  std::string prefix;                   // empty: a new lxebench-<6 hex> (complete_options)
  bool prefix_given = false;
  std::string out;                      // also write the report to this file
  std::string image = "busybox";
  std::string storage_pool;
  // Another CRI runtime measured side by side in the lifecycle section (scripts/bench.sh --peer
  // containerd sets these up): its socket, its name in the report, and its name for the image.
  std::string peer_socket;
  std::string peer_name = "peer";
  std::string peer_image;  // lxe's --storage-pool, and the pool of the raw LXD calls; "": LXD's default
  std::string lxe_log_level = "info";   // of the measured lxe (debug: to see where its time goes)
  std::vector<int> clients;             // concurrency levels; empty: the mode's (complete_options)
  std::set<std::string> skip;           // sections not to run: lifecycle, concurrency, recovery, stats
  std::vector<std::string> notes;       // --note: lines for the report's header (bench.sh: the commit)
  int pods = -1, running_per_pod = -1, created_per_pod = -1;  // -1: the mode's
  int stats_containers = -1;            // running containers of the stats section; -1: the mode's

  bool phase(const std::string& name) const { return skip.count(name) == 0; }
};

struct ShowHelp {};
struct OptionsError {
  std::string message;  // one line
};

// `args` excludes argv[0]. Does no I/O; the defaults that need some are filled by complete_options.
std::variant<Options, ShowHelp, OptionsError> parse_options(const std::vector<std::string>& args);

// Fills what was not given: a fresh prefix, the lxe next to `self_dir` (this binary's directory),
// the mode's concurrency levels.
void complete_options(Options& options, const std::string& self_dir);

std::string usage();

// Only prefixes of this form are ever swept: lxebench-<6 hex digits>.
bool valid_bench_prefix(const std::string& prefix);

// What a mode does.
struct Plan {
  bool quick = false;
  int hot_iterations = 0;         // calls per target and size (in 5 rounds)
  double hot_budget_s = 0;        // ... or at most this long per target and size
  int lifecycle_iterations = 0;   // measured lxe and raw lifecycles each (plus the warm-ups)
  int lifecycle_warmups = 0;      // unmeasured lifecycles of each kind first
  double idle_window_s = 0;       // lxe's idle CPU is measured over this
  int pods = 0;                   // pods of the populated sizes
  int running_per_pod = 0;        // started containers per pod (the recovery set)
  int created_per_pod = 0;        // more containers per pod, created and not started
  bool measure_running_size = false;  // hot path and footprint at pods*running_per_pod too
  int workers = 0;                // parallel clients for populating and cleaning up
  // The stats section (6).
  int stats_containers = 0;       // at least this many running containers (pods of one are added)
  int stats_calls = 0;            // ListContainerStats and ListPodSandboxStats calls each
  int stats_raw_sweeps = 0;       // raw-LXD sweeps (a /state per container), interleaved with them
  int polled_rounds = 0;          // rounds of an idle and a polled window per hot-path RPC
  int poll_period_ms = 0;         // the stats poller's period, and the length of a window

  int lifecycles_per_client(int clients) const { return quick ? 1 : std::max(1, 16 / clients); }
};

// The mode's plan, with the population flags (--pods, ...) applied.
Plan make_plan(const Options& options);

}  // namespace lxe::bench
