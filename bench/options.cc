#include "options.h"

#include <memory>
#include <regex>

#include "common/cli.h"
#include "host.h"

namespace lxe::bench {
namespace {

// `lxe-bench --help`: the two ways to run it, what it does, the flags.
class Help : public cli::HelpFormatter {
 public:
  std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const override {
    return "Usage: lxe-bench [flags]\n"
           "       lxe-bench --sweep-only [--prefix lxebench-XXXXXX]\n\n" +
           app->get_description() + "\n\nFlags:\n" + option_lines(cli::flags_of(*app));
  }
};

// Every flag, bound to `o`: the parser and the help both come from these declarations.
void declare(CLI::App& app, Options& o, bool& help) {
  app.description(
      "Measures a freshly started lxe against the real LXD and against the bare gRPC round trip,\n"
      "and prints a markdown report (docs/benchmarks.md). --sweep-only alone deletes the LXD objects\n"
      "(and /tmp/lxe-bench-* directories) of earlier runs whose lxe-bench is gone; with --prefix,\n"
      "everything under that prefix not held by a live run.");
  app.set_help_flag();
  app.formatter(std::make_shared<Help>());
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_flag("-h,--help", help, "print this help and exit")->disable_flag_override();
  app.add_flag_callback("--quick", [&o] { o.quick = true; },
                        "the short mode: a smoke test of every section, about a minute")
      ->disable_flag_override()
      ->trigger_on_parse();
  app.add_flag_callback("--full", [&o] { o.quick = false; }, "the full run (the default)")
      ->disable_flag_override()
      ->trigger_on_parse();
  // Each of the list flags takes one word (a comma-separated list), and repeating one adds up.
  app.add_option("--skip", o.skip, "sections to leave out: lifecycle, concurrency, recovery, stats")
      ->option_text("LIST")
      ->expected(1)
      ->allow_extra_args(false)
      ->delimiter(',')
      ->check(CLI::IsMember({"lifecycle", "concurrency", "recovery", "stats"}))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--clients", o.clients, "concurrency levels (full: 1,8,32; quick: 1,4)")
      ->option_text("LIST")
      ->expected(1)
      ->allow_extra_args(false)
      ->delimiter(',')
      ->check(CLI::PositiveNumber)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--pods", o.pods, "pods of the populated sizes (full: 100, quick: 5)")
      ->option_text("N")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--running-per-pod", o.running_per_pod, "started containers per pod (full: 1, quick: 2)")
      ->option_text("N")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--created-per-pod", o.created_per_pod, "created, not started, containers per pod (full: 9, quick: 2)")
      ->option_text("N")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--stats-containers", o.stats_containers,
                 "running containers of the stats section, at least (full: 100, quick: 10);\n"
                 "pods of one running container are added for it if fewer run, and removed after it")
      ->option_text("N")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--lxe-log-level", o.lxe_log_level, "the measured lxe's --log-level")
      ->option_text("LEVEL")
      ->default_str(o.lxe_log_level);
  app.add_flag("--keep-tmp", o.keep_tmp, "keep the scratch directory (/tmp/lxe-bench-*)")->disable_flag_override();
  app.add_option("--lxe", o.lxe, "the lxe to measure (default: the one next to lxe-bench)")->option_text("PATH");
  app.add_option("--lxd-socket", o.lxd_socket, "LXD's unix socket (default: the first of the usual two that exists)")
      ->option_text("PATH");
  app.add_option("--image", o.image, "the image of the containers")->option_text("ALIAS")->default_str(o.image);
  app.add_option("--storage-pool", o.storage_pool,
                 "the LXD storage pool of lxe's instances (lxe --storage-pool) and of\n"
                 "the raw LXD calls it is compared with (default: the default profile's)")
      ->option_text("POOL");
  app.add_option("--peer-socket", o.peer_socket,
                 "another CRI runtime's socket: the lifecycle section runs the same calls\n"
                 "through it too, with the same client (scripts/bench.sh --peer containerd)")
      ->option_text("PATH");
  app.add_option("--peer-name", o.peer_name, "the peer's name in the report")->option_text("NAME")->default_str(o.peer_name);
  app.add_option("--peer-image", o.peer_image, "the image of the peer's containers (default: --image)")
      ->option_text("REF");
  app.add_option("--hold", o.hold_s,
                 "before cleaning up, keep everything (lxe serving the full population)\n"
                 "this long, to profile lxe")
      ->option_text("SECONDS")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--note", o.notes, "a line for the report's header (repeatable)")
      ->option_text("TEXT")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--out", o.out, "also write the report to this file")->option_text("FILE");
  app.add_flag("--sweep-only", o.sweep_only, "only sweep LXD (see above), nothing else")->disable_flag_override();
  app.add_option("--prefix", o.prefix, "the run's LXD name prefix, lxebench-<6 hex> (default: a new one)")
      ->option_text("PREFIX")
      ->check([](const std::string& p) { return valid_bench_prefix(p) ? "" : "must be lxebench-<6 hex digits>"; });
  app.allow_extras();
}

}  // namespace

bool valid_bench_prefix(const std::string& prefix) {
  static const std::regex re("lxebench-[0-9a-f]{6}");
  return std::regex_match(prefix, re);
}

std::variant<Options, ShowHelp, OptionsError> parse_options(const std::vector<std::string>& args) {
  Options options;
  bool help = false;
  CLI::App app("", "lxe-bench");
  declare(app, options, help);
  try {
    app.parse(cli::parse_order(args));
  } catch (const CLI::ParseError& e) {
    return OptionsError{cli::describe(e)};
  }
  if (help) return ShowHelp{};
  if (const std::string word = cli::first_unplaced(app); !word.empty())
    return OptionsError{(word.size() > 1 && word[0] == '-' ? "unknown flag " : "unexpected argument ") + word};
  options.prefix_given = !options.prefix.empty();
  return options;
}

void complete_options(Options& o, const std::string& self_dir) {
  if (o.prefix.empty()) o.prefix = "lxebench-" + random_hex(6);
  if (o.clients.empty()) o.clients = o.quick ? std::vector<int>{1, 4} : std::vector<int>{1, 8, 32};
  if (o.lxe.empty()) o.lxe = self_dir + "/lxe";
}

std::string usage() {
  Options options;
  bool help = false;
  CLI::App app("", "lxe-bench");
  declare(app, options, help);
  return app.help();
}

Plan make_plan(const Options& o) {
  Plan p = o.quick ? Plan{.quick = true,
                          .hot_iterations = 500,
                          .hot_budget_s = 1.0,
                          .lifecycle_iterations = 1,
                          .lifecycle_warmups = 0,
                          .idle_window_s = 1.0,
                          .pods = 5,
                          .running_per_pod = 2,
                          .created_per_pod = 2,
                          .measure_running_size = false,
                          .workers = 5,
                          .stats_containers = 10,
                          .stats_calls = 20,
                          .stats_raw_sweeps = 2,
                          .polled_rounds = 1,
                          .poll_period_ms = 1000}
                   : Plan{.quick = false,
                          .hot_iterations = 5000,
                          .hot_budget_s = 6.0,
                          .lifecycle_iterations = 10,
                          .lifecycle_warmups = 1,
                          .idle_window_s = 5.0,
                          .pods = 100,
                          .running_per_pod = 1,
                          .created_per_pod = 9,
                          .measure_running_size = true,
                          .workers = 8,
                          .stats_containers = 100,
                          .stats_calls = 200,
                          .stats_raw_sweeps = 5,
                          .polled_rounds = 10,
                          .poll_period_ms = 1000};
  if (o.pods >= 0) p.pods = o.pods;
  if (o.running_per_pod >= 0) p.running_per_pod = o.running_per_pod;
  if (o.created_per_pod >= 0) p.created_per_pod = o.created_per_pod;
  if (o.stats_containers >= 0) p.stats_containers = o.stats_containers;
  return p;
}

}  // namespace lxe::bench
