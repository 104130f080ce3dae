// lxe-bench's markdown report (bench/report.h): its tables, the numbers in them, the targets.
#include <catch2/catch.hpp>

#include "report.h"

using namespace lxe::bench;

namespace {

Samples samples(std::initializer_list<double> values) {
  Samples s;
  for (double v : values) s.add(v);
  return s;
}

Report header_only() {
  Report r;
  r.quick = true;
  r.started = "2026-12-02 10:00 UTC";
  r.machine = "2 cores (`nproc`), CPU, 1.0 GiB RAM, Linux 6";
  r.load_start = "1 / 2 / 3";
  r.load_end = "4 / 5 / 6";
  r.lxd_version = "5.0.2";
  r.lxe_version = "0.1.0";
  r.image = "busybox";
  r.header_notes = {"source tree at commit abc"};
  return r;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("bench report: the header", "[bench]") {
  Report r = header_only();
  r.notes = {"containers: 10 started"};
  std::string md = render_report(r);
  CHECK_THAT(md, Catch::StartsWith("## lxe-bench --quick, 2026-12-02 10:00 UTC\n\n"
                                   "- machine: 2 cores (`nproc`), CPU, 1.0 GiB RAM, Linux 6\n"
                                   "- load average (1/5/15 min) at start: 1 / 2 / 3; at end: 4 / 5 / 6\n"
                                   "- LXD 5.0.2, lxe 0.1.0, image `busybox`\n"
                                   "- source tree at commit abc\n"
                                   "- containers: 10 started\n\n"));
  // Sections without rows are left out; the targets table is always there.
  CHECK(md.find("### 1.") == std::string::npos);
  CHECK(md.find("### Targets (from issue 6)") != std::string::npos);
  r.failure = "interrupted";
  r.quick = false;
  md = render_report(r);
  CHECK_THAT(md, Catch::StartsWith("## lxe-bench (full), "));
  CHECK(md.find("- **the run did not finish**: interrupted\n") != std::string::npos);
}

TEST_CASE("bench report: hot path rows, medians and ratios against the echo", "[bench]") {
  Report r = header_only();
  HotRow row;
  row.rpc = "ListContainers";
  row.size = "20";
  row.population = "10 running, in 5 pods";
  row.lxe = samples({100, 200, 300});
  row.shape = samples({100, 150, 160});
  row.lxe_cpu_s = 0.0003;
  row.shape_cpu_s = 0.0006;
  row.echo_out_p50 = 100;
  r.hot.push_back(row);
  r.echoes["20"] = EchoRow{samples({90}), samples({100}), 0.0001};
  const std::string md = render_report(r);
  CHECK(has_line(md, "| RPC | containers | lxe p50 | lxe p99 | echo p50 | **lxe ÷ echo** (p50) | same-shape echo p50 / "
                     "p99 | lxe ÷ same-shape | lxe CPU/call | same-shape CPU/call | calls |"));
  CHECK(has_line(md, "| ListContainers | 20 | 200 | 300 | 100 | 2.00× | 150 / 160 | 1.33× | 100 | 200 | 3 |"));
  CHECK(has_line(md, "| 20 | 100 / 100 | 90 / 90 | 100 | 1 |"));
  CHECK(md.find("**20** = 10 running, in 5 pods") != std::string::npos);
  CHECK(has_line(md, "| hot-path p50 ≤ 1.3× the bare gRPC echo, 20 containers | ListContainers 2.00× | **no** |"));
  CHECK(has_line(md, "| ListContainers p99 ≤ 5 ms at 1000 containers | 0.30 ms at 20 | yes (not at 1000: quick mode) |"));
  // A full run with a smaller population (--created-per-pod 0) is no quick run.
  r.quick = false;
  CHECK(has_line(render_report(r), "| ListContainers p99 ≤ 5 ms at 1000 containers | 0.30 ms at 20 | yes (not at 1000) |"));
}

TEST_CASE("bench report: the lifecycle against raw LXD", "[bench]") {
  Report r = header_only();
  r.lifecycle_iterations = 3;
  r.lifecycle_warmups = 1;
  r.lifecycle.push_back(LifeRow{"StartContainer", "start", samples({300, 320, 360}), samples({290, 300, 310}),
                                samples({320}), samples({10}), samples({4})});
  const std::string md = render_report(r);
  CHECK(md.find("### 2. Lifecycle: lxe vs the same LXD calls made directly (ms, median of 3 each, interleaved, "
                "after 1 warm-up(s))") != std::string::npos);
  CHECK(has_line(md, "| StartContainer | 320.0 | 300.0 | 1.07× | 20.0 | 320.0 | 10.0 | 3.3% | 4 | start |"));
  CHECK(has_line(md, "| StartContainer: ≤ 10% over raw LXD | median 320.0 vs 300.0 ms: +7% (lxe's own time: 3.3% of "
                     "raw) | yes |"));
}

TEST_CASE("bench report: concurrency, recovery and footprint", "[bench]") {
  Report r = header_only();
  ConcRow c;
  c.clients = 4;
  c.lifecycles = 4;
  c.errors = 1;
  c.wall_s = 8;
  c.lifecycle_ms = samples({2000, 3000});
  c.calls_ms["RunPodSandbox"] = samples({500, 900});
  c.calls_ms["StopContainer"] = samples({700});
  c.error_texts = {"k1: RunPodSandbox: UNAVAILABLE"};
  r.concurrency.push_back(c);
  RecoveryRow rec;
  rec.running = 10;
  rec.holders = 5;
  rec.kill_to_serving_ms = 30;
  rec.kill_to_list_ms = 31;
  rec.spawn_to_serving_ms = 25;
  rec.kill_to_adopted_ms = 52;
  rec.adoption = "lxe read each of its 15 objects one by one";
  r.recovery = rec;
  FootRow f;
  f.label = "20";
  f.what = "fresh";
  f.pods = 5;
  f.containers = 20;
  f.mem = Memory{.rss_kb = 26 * 1024, .hwm_kb = 27 * 1024, .anon_kb = 5 * 1024, .file_kb = 21 * 1024};
  f.db = 140 * 1024;
  f.wal = 4 * 1024;
  f.shm = 32 * 1024;
  f.idle_cpu_pct = 0.5;
  r.footprint.push_back(f);
  const std::string md = render_report(r);
  CHECK(has_line(md, "| 4 | 4 | 1 | 8.0 | 0.50 | 2.00 | 3.00 | RunPodSandbox 900 |"));
  CHECK(has_line(md, "| 4 | 500 / 900 | – | – | 700 / 700 | – | – | – |"));
  CHECK(md.find("- error (4 clients): k1: RunPodSandbox: UNAVAILABLE") != std::string::npos);
  CHECK(has_line(md, "| 30 ms | 31 ms | 25 ms | 52 ms | 0 | 0 | 0 | 0 |"));
  CHECK(md.find("read from its debug log: lxe read each of its 15 objects one by one.") != std::string::npos);
  CHECK(has_line(md, "| 20 | 5 | fresh | 26.0 MiB | 5.0 MiB | 21.0 MiB | 27.0 MiB | 140 KiB | 4 KiB | 32 KiB | 144 KiB "
                     "| 0.5% |"));
  CHECK(has_line(md, "| 0 errors with 4 client(s) | 1 errors in 5 lifecycles | **no** |"));
  CHECK(has_line(md, "| serving (ListContainers correct) ≤ 1 s after kill -9 | 31 ms | yes |"));
  CHECK(has_line(md, "| 0 restarts after kill -9 (init PIDs) | 0 containers, 0 holders restarted of 10 + 5 | yes |"));
  CHECK(md.find("| peak RSS ≤ 25 MB with 100 pods | VmHWM 28.3 MB (27.0 MiB; VmRSS 26.0 MiB) with 5 pods, 20 "
                "containers, fresh | **no** (fewer pods: quick mode) |") != std::string::npos);
}

TEST_CASE("bench report: lxe and a peer runtime side by side", "[bench]") {
  Report r = header_only();
  r.lifecycle_iterations = 3;
  r.lifecycle.push_back(LifeRow{"StartContainer", "start", samples({300, 320, 360}), samples({290, 300, 310}),
                                samples({320}), samples({10}), samples({4}), samples({100, 110, 120})});
  r.lifecycle.push_back(LifeRow{"PodSandboxStatus", "get", samples({1}), samples({1}), samples({0}), samples({1}),
                                samples({0}), samples({2})});
  // Without a peer there is no such table.
  CHECK(render_report(r).find("side by side") == std::string::npos);
  r.peer_name = "containerd";
  const std::string md = render_report(r);
  CHECK(md.find("#### lxe and containerd, side by side") != std::string::npos);
  CHECK(has_line(md, "| call | lxe | containerd | lxe ÷ containerd | lxe − containerd | at or below |"));
  CHECK(has_line(md, "| StartContainer | 320.0 | 110.0 | 2.91× | 210.0 | **no** |"));
  CHECK(has_line(md, "| PodSandboxStatus | 1.0 | 2.0 | 0.50× | -1.0 | yes |"));
}
