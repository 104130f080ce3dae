// lxe-bench: measures a freshly started lxe against the real LXD and against the physical limits
// of this machine, and prints a markdown report. See docs/benchmarks.md.
//
//   lxe-bench [--quick] [--lxe PATH] [--lxd-socket PATH] [--prefix lxebench-XXXXXX] [--out FILE] ...
//   lxe-bench --sweep-only [--prefix lxebench-XXXXXX]
//
// Everything it makes in LXD is named <prefix>-... and marked with its PID (lxd_sweep.h). At the
// end, and on failure or SIGINT/SIGTERM, it removes every pod through lxe and then deletes whatever
// LXD still has under the prefix; at the start it deletes what killed runs left. Nothing else in
// LXD is touched.
//
// The files: options (the command line), run (set-up, the sections in order, clean-up), one file
// per section (hot_path, lifecycle, concurrency, recovery, footprint, and for stats stats_calls and
// hot_path_polled) and population between them, report (the markdown), and their helpers:
// cri_client, workload (the requests), hot_calls (the hot path's RPCs), raw_lxd (the raw-LXD side
// of the lifecycle section), stats_poller (kubelet's stats polling), lxd_sweep, lxe_log,
// lxe_process, echo_server.
#include <csignal>
#include <filesystem>
#include <iostream>
#include <string>
#include <variant>
#include <vector>

#include <spdlog/spdlog.h>

#include "echo_server.h"
#include "interrupts.h"
#include "options.h"
#include "progress.h"
#include "run.h"

int main(int argc, char** argv) {
  using namespace lxe::bench;
  bench_start();
  const std::vector<std::string> args(argv + 1, argv + argc);
  // The echo process the hot path measures (see echo_server.h): this binary, run by itself.
  if (args.size() >= 2 && args[0] == "--serve-echo")
    return serve_echo_main(args[1], args.size() >= 4 && args[2] == "--echo-replies" ? args[3] : "");

  auto parsed = parse_options(args);
  if (std::holds_alternative<ShowHelp>(parsed)) {
    std::cout << usage();
    return 0;
  }
  if (const auto* error = std::get_if<OptionsError>(&parsed)) {
    std::cerr << "lxe-bench: " << error->message << "\n" << usage();
    return 2;
  }
  Options options = std::get<Options>(std::move(parsed));
  complete_options(options, std::filesystem::read_symlink("/proc/self/exe").parent_path().string());

  // Before any other thread exists: every thread inherits the blocked signals.
  const Interrupts interrupts(options.prefix);
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::set_level(spdlog::level::warn);
  if (options.sweep_only) return sweep_only(options);
  return run_bench(options, interrupts);
}
