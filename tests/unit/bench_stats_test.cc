// lxe-bench's stats section: the windows of the polled hot path, the stats poller, the report's
// stats tables (bench/stats_poller.h, bench/report.h).
#include <catch2/catch.hpp>

#include "echo_server.h"
#include "lxe_process.h"
#include "report.h"
#include "stats_poller.h"
#include "support/temp_dir.h"

using namespace lxe::bench;
using std::chrono::milliseconds;

namespace {

Samples samples(std::initializer_list<double> values) {
  Samples s;
  for (double v : values) s.add(v);
  return s;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("bench stats: windows are one period long and centred on the poller's ticks", "[bench]") {
  const Clock::time_point t0{};  // the poller's start
  const Clock::duration period = milliseconds(1000);
  const Clock::duration slack = milliseconds(100);
  auto at = [&](int ms) { return t0 + milliseconds(ms); };

  // At the start, the first tick's window begins half a period later.
  PollWindow w = poll_window(t0, period, at(0), slack);
  CHECK(w.tick == at(1000));
  CHECK(w.start == at(500));
  CHECK(w.end == at(1500));
  // Just after a window began, still within the slack: that window.
  w = poll_window(t0, period, at(1550), slack);
  CHECK(w.tick == at(2000));
  CHECK(w.start == at(1500));
  // Past the slack: the next one, never a window whose tick is too close to arm.
  w = poll_window(t0, period, at(1601), slack);
  CHECK(w.tick == at(3000));
  CHECK(w.start == at(2500));
  // Exactly at a window's start.
  CHECK(poll_window(t0, period, at(2500), slack).tick == at(3000));
  // The tick is always at least half a period minus the slack ahead.
  for (int ms = 0; ms < 5000; ms += 37) {
    const PollWindow x = poll_window(t0, period, at(ms), slack);
    CHECK(x.tick - at(ms) >= period / 2 - slack);
    CHECK(x.end - x.start == period);
  }
}

TEST_CASE("bench stats: the poller polls at armed ticks only, and counts failed polls", "[bench]") {
  lxe::test::TempDir dir;
  // The echo server implements no stats RPC: each poll fails with UNIMPLEMENTED, which the poller
  // counts and keeps.
  EchoServer server(dir.file("echo.sock"));
  StatsPoller poller(make_channel(server.socket()), milliseconds(50));

  auto window_armed = [&](bool poll) {
    PollWindow w = poller.next_window();
    while (!poller.arm(w.tick, poll)) w = poller.next_window();
    poller.wait_done(w.tick);
  };
  window_armed(false);
  CHECK(poller.results().polls == 0);
  window_armed(true);
  window_armed(false);
  window_armed(true);
  const PollInfo info = poller.results();
  CHECK(info.polls == 2);
  CHECK(info.errors == 2);
  CHECK_THAT(info.first_error, Catch::StartsWith("ListContainerStats: UNIMPLEMENTED"));
  CHECK(info.container_stats_ms.empty());
  CHECK(info.period_s == Approx(0.05));
  // A tick the poller has passed cannot be armed any more.
  const PollWindow past = poller.next_window();
  poller.wait_done(past.tick);
  CHECK_FALSE(poller.arm(past.tick, true));
}

TEST_CASE("bench stats: the report's stats rows against raw LXD, and the hot path idle and polled", "[bench]") {
  Report r;
  r.stats_population = "100 running, in 100 pods";
  StatsRow containers;
  containers.rpc = "ListContainerStats";
  containers.entries = 100;
  containers.with_cpu = 99;
  containers.reply_bytes = 40 * 1024;
  containers.lxe = samples({2.0, 3.0, 4.0});
  containers.lxe_cpu_s = 0.006;
  containers.raw_what = "GET /state of each";
  containers.raw = samples({12000, 15000});
  containers.raw_instances = 100;
  containers.raw_running = 100;
  r.stats.push_back(containers);
  StatsRow pods;
  pods.rpc = "ListPodSandboxStats";
  pods.entries = 100;
  pods.with_cpu = 100;
  pods.reply_bytes = 512;
  pods.lxe = samples({5.0});
  r.stats.push_back(pods);
  PolledRow version;
  version.rpc = "Version";
  version.size = "100";
  version.idle = samples({100, 110, 300});
  version.polled = samples({100, 121, 600});
  r.polled.push_back(version);
  PolledRow list;
  list.rpc = "ListContainers";
  list.size = "100";
  list.idle = samples({800, 900});
  list.polled = samples({990, 900});
  r.polled.push_back(list);
  PollInfo poll;
  poll.period_s = 1;
  poll.rounds = 10;
  poll.polled_windows = 20;
  poll.polls = 20;
  poll.container_stats_ms = samples({3, 4, 9});
  poll.pod_stats_ms = samples({5, 6});
  r.poll = poll;

  const std::string md = render_report(r);
  CHECK(md.find("### 6. Stats: ListContainerStats and ListPodSandboxStats, and the hot path while they are "
                "polled\n\nContainers: 100 running, in 100 pods.") != std::string::npos);
  CHECK(has_line(md, "| RPC | stats in the answer (with CPU time) | answer | lxe p50 | lxe p99 | lxe CPU/call | "
                     "calls | raw LXD: the same numbers | raw p50 | raw p99 | sweeps | **raw ÷ lxe** (p50) |"));
  CHECK(has_line(md, "| ListContainerStats | 100 (99) | 40.0 KiB | 3.00 | 4.00 | 2.00 | 3 | GET /state of each (100; "
                     "100 running with CPU time) | 12000 | 15000 | 2 | 4000× |"));
  CHECK(has_line(md,
                 "| ListPodSandboxStats | 100 (100) | 0.5 KiB | 5.00 | 5.00 | 0.00 | 1 | – | – | – | – | – |"));
  CHECK(md.find("period 1.0 s, 10 round(s) of one window of each.") != std::string::npos);
  CHECK(has_line(md, "| Version | 100 | 110 | 300 | 121 | 600 | 1.10× | 2.00× | 3 / 3 |"));
  CHECK(has_line(md, "| ListContainers | 100 | 800 | 900 | 900 | 990 | 1.12× | 1.10× | 2 / 2 |"));
  CHECK(md.find("Largest change: p50 1.12× (ListContainers), p99 2.00× (Version). Polls: 20 in 20 polled windows, "
                "0 failed; each poll's ListContainerStats p50 / max 4.00 / 9.00 ms, ListPodSandboxStats 5.00 / "
                "6.00 ms.") != std::string::npos);
  // Without a stats section there is no section 6.
  CHECK(render_report(Report()).find("### 6.") == std::string::npos);
}
