// lxe-bench's command line and its modes (bench/options.h).
#include <catch2/catch.hpp>

#include "options.h"

using namespace lxe::bench;

namespace {

Options ok(const std::vector<std::string>& args) {
  auto parsed = parse_options(args);
  if (auto* e = std::get_if<OptionsError>(&parsed)) FAIL("unexpected error: " << e->message);
  REQUIRE(std::holds_alternative<Options>(parsed));
  return std::get<Options>(parsed);
}

std::string bad(const std::vector<std::string>& args) {
  auto parsed = parse_options(args);
  REQUIRE(std::holds_alternative<OptionsError>(parsed));
  return std::get<OptionsError>(parsed).message;
}

}  // namespace

TEST_CASE("bench options: defaults, and what complete_options fills in", "[bench]") {
  Options o = ok({});
  CHECK_FALSE(o.quick);
  CHECK_FALSE(o.sweep_only);
  CHECK(o.image == "busybox");
  CHECK(o.lxe_log_level == "info");
  CHECK(o.prefix.empty());
  CHECK_FALSE(o.prefix_given);
  CHECK(o.phase("lifecycle"));
  complete_options(o, "/opt/lxe/bin");
  CHECK(valid_bench_prefix(o.prefix));
  CHECK(o.lxe == "/opt/lxe/bin/lxe");
  CHECK(o.clients == std::vector<int>{1, 8, 32});
  Options q = ok({"--quick"});
  complete_options(q, "/x");
  CHECK(q.clients == std::vector<int>{1, 4});
  // Two runs never share a prefix (24 random bits).
  Options a = ok({}), b = ok({});
  complete_options(a, "/x");
  complete_options(b, "/x");
  CHECK(a.prefix != b.prefix);
}

TEST_CASE("bench options: every flag", "[bench]") {
  const Options o = ok({"--quick", "--skip", "lifecycle,recovery", "--clients", "2,6", "--pods", "3",
                        "--running-per-pod", "1", "--created-per-pod=0", "--stats-containers", "30",
                        "--lxe-log-level", "debug", "--keep-tmp",
                        "--lxe", "/b/lxe", "--lxd-socket", "/l.sock", "--image", "alpine", "--hold", "30", "--note",
                        "commit abc, dirty", "--note", "second", "--out", "/r.md", "--prefix", "lxebench-0a1b2c"});
  CHECK(o.quick);
  CHECK_FALSE(o.phase("lifecycle"));
  CHECK(o.phase("concurrency"));
  CHECK_FALSE(o.phase("recovery"));
  CHECK(o.clients == std::vector<int>{2, 6});
  CHECK(o.pods == 3);
  CHECK(o.running_per_pod == 1);
  CHECK(o.created_per_pod == 0);
  CHECK(o.stats_containers == 30);
  CHECK(o.lxe_log_level == "debug");
  CHECK(o.keep_tmp);
  CHECK(o.lxe == "/b/lxe");
  CHECK(o.lxd_socket == "/l.sock");
  CHECK(o.image == "alpine");
  CHECK(o.hold_s == 30);
  CHECK(o.notes == std::vector<std::string>{"commit abc, dirty", "second"});  // a note keeps its commas
  CHECK(o.out == "/r.md");
  CHECK(o.prefix == "lxebench-0a1b2c");
  CHECK(o.prefix_given);
  CHECK_FALSE(ok({"--quick", "--full"}).quick);  // the last mode wins
  CHECK(ok({"--sweep-only"}).sweep_only);
  CHECK(ok({"--skip", "lifecycle", "--skip", "concurrency"}).skip.size() == 2);
  CHECK_FALSE(ok({"--skip", "stats"}).phase("stats"));
  CHECK(ok({}).phase("stats"));
  CHECK(std::holds_alternative<ShowHelp>(parse_options({"--help"})));
  CHECK(std::holds_alternative<ShowHelp>(parse_options({"-h"})));
}

TEST_CASE("bench options: mistakes are one line", "[bench]") {
  CHECK_THAT(bad({"--skip", "hotpath"}), Catch::Contains("--skip"));
  CHECK_THAT(bad({"--prefix", "lxet-123456"}), Catch::Contains("lxebench-<6 hex digits>"));
  CHECK_THAT(bad({"--prefix", "lxebench-ABCDEF"}), Catch::Contains("lxebench-<6 hex digits>"));
  CHECK_THAT(bad({"--pods", "many"}), Catch::Contains("--pods"));
  CHECK_THAT(bad({"--pods", "-1"}), Catch::Contains("--pods"));
  CHECK_THAT(bad({"--clients", "0"}), Catch::Contains("--clients"));
  CHECK_THAT(bad({"--stats-containers", "-5"}), Catch::Contains("--stats-containers"));
  CHECK(bad({"--lxe"}) == "flag --lxe needs a value");
  CHECK(bad({"--quick=yes"}) == "flag --quick takes no value");
  CHECK(bad({"--frob"}) == "unknown flag --frob");
  CHECK(bad({"run"}) == "unexpected argument run");
  CHECK(bad({"--note", "a", "b"}) == "unexpected argument b");  // one word per --note
}

TEST_CASE("bench options: the help lists every flag", "[bench]") {
  const std::string help = usage();
  CHECK_THAT(help, Catch::StartsWith("Usage: lxe-bench [flags]\n       lxe-bench --sweep-only"));
  for (const char* flag : {"--quick", "--full", "--skip LIST", "--clients LIST", "--pods N", "--running-per-pod N",
                           "--created-per-pod N", "--stats-containers N", "--lxe-log-level LEVEL", "--keep-tmp",
                           "--lxe PATH",
                           "--lxd-socket PATH", "--image ALIAS", "--hold SECONDS", "--note TEXT", "--out FILE",
                           "--sweep-only", "--prefix PREFIX", "-h, --help"})
    CHECK_THAT(help, Catch::Contains(std::string("\n  ") + flag + "  "));
}

TEST_CASE("bench options: the plans of the two modes, and the population flags", "[bench]") {
  const Plan full = make_plan(ok({}));
  CHECK_FALSE(full.quick);
  CHECK(full.hot_iterations == 5000);
  CHECK(full.lifecycle_iterations == 10);
  CHECK(full.lifecycle_warmups == 1);
  CHECK(full.pods == 100);
  CHECK(full.running_per_pod == 1);
  CHECK(full.created_per_pod == 9);
  CHECK(full.measure_running_size);
  CHECK(full.lifecycles_per_client(1) == 16);
  CHECK(full.lifecycles_per_client(8) == 2);
  CHECK(full.lifecycles_per_client(32) == 1);
  CHECK(full.stats_containers == 100);
  CHECK(full.stats_calls == 200);
  CHECK(full.stats_raw_sweeps == 5);
  CHECK(full.polled_rounds == 10);
  CHECK(full.poll_period_ms == 1000);
  const Plan quick = make_plan(ok({"--quick"}));
  CHECK(quick.quick);
  CHECK(quick.hot_iterations == 500);
  CHECK(quick.lifecycle_iterations == 1);
  CHECK(quick.lifecycle_warmups == 0);
  CHECK(quick.pods * (quick.running_per_pod + quick.created_per_pod) == 20);
  CHECK(quick.lifecycles_per_client(4) == 1);
  CHECK(quick.stats_containers == quick.pods * quick.running_per_pod);  // the quick population, no more
  const Plan custom = make_plan(ok({"--pods", "7", "--running-per-pod", "0", "--created-per-pod", "3"}));
  CHECK(custom.pods == 7);
  CHECK(custom.running_per_pod == 0);
  CHECK(custom.created_per_pod == 3);
  CHECK(make_plan(ok({"--quick", "--stats-containers", "12"})).stats_containers == 12);
}
