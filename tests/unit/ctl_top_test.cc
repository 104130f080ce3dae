// lxe-ctl top's arithmetic without a running container: the CPU rate from two cgroup reads (and
// when there is none), the sums per pod, the orders of --sort, and the rows and JSON it prints.
// The reads come from a cgroup tree laid out in a temporary folder, or are made up outright.
#include <catch2/catch.hpp>

#include <filesystem>
#include <iterator>
#include <sstream>

#include "ctl/views.h"
#include "stats/cgroup_stats.h"
#include "support/process.h"
#include "support/temp_dir.h"

using namespace lxe::ctl;
using lxe::stats::CgroupReader;
using lxe::stats::CgroupSample;
using lxe::store::ContainerObserved;
using lxe::store::ContainerRecord;
using lxe::store::ContainerState;
using lxe::store::SandboxObserved;
using lxe::store::SandboxRecord;
using lxe::store::SandboxState;
using lxe::test::non_empty_lines;

namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr uint64_t kMi = 1024 * 1024;

SandboxRecord sandbox(const std::string& id, const std::string& name, const std::string& ns) {
  SandboxRecord s;
  s.id = id;
  s.name = name;
  s.namespace_ = ns;
  s.uid = "uid-" + name;
  s.lxd_name = "lxe-" + name + "-" + id.substr(0, 12);
  s.desired_state = SandboxState::Ready;
  s.observed_state = SandboxObserved::Ready;
  s.observed_generation = 1;
  return s;
}

ContainerRecord container(const std::string& id, const SandboxRecord& pod, const std::string& name, bool running) {
  ContainerRecord c;
  c.id = id;
  c.sandbox_id = pod.id;
  c.name = name;
  c.lxd_name = "lxe-" + pod.name + "-" + name + "-" + id.substr(0, 12);
  c.desired_state = running ? ContainerState::Running : ContainerState::Exited;
  c.observed_state = running ? ContainerObserved::Running : ContainerObserved::Exited;
  c.generation = 2;
  c.observed_generation = 2;
  return c;
}

CgroupRead read_of(uint64_t cpu_ns, int64_t at_ns, uint64_t working_set = 0, uint64_t pids = 1) {
  CgroupRead r;
  r.sample.present = true;
  r.sample.cpu_usage_ns = cpu_ns;
  r.sample.working_set = working_set;
  r.sample.memory_usage = working_set + 4096;
  r.sample.rss = working_set / 2;
  r.sample.pids = pids;
  r.at_ns = at_ns;
  return r;
}

CgroupRead absent(int64_t at_ns) {
  CgroupRead r;
  r.at_ns = at_ns;
  return r;
}

Usage measured(std::optional<uint64_t> nano_cores, uint64_t working_set, uint64_t pids = 1) {
  Usage u;
  u.measured = true;
  u.nano_cores = nano_cores;
  u.working_set = working_set;
  u.pids = pids;
  return u;
}

// The cgroup v2 files of instance `name`, as the kernel shows them.
void put_unified(const lxe::test::TempDir& root, const std::string& name, uint64_t usage_usec, uint64_t current,
                 uint64_t inactive_file, uint64_t pids) {
  const std::string dir = root.file("lxc.payload." + name);
  std::filesystem::create_directories(dir);
  lxe::test::write_file(dir + "/cpu.stat", "usage_usec " + std::to_string(usage_usec) + "\nuser_usec 1\n");
  lxe::test::write_file(dir + "/memory.current", std::to_string(current) + "\n");
  lxe::test::write_file(dir + "/memory.stat", "anon 2097152\ninactive_file " + std::to_string(inactive_file) + "\n");
  lxe::test::write_file(dir + "/pids.current", std::to_string(pids) + "\n");
}

std::vector<std::string> names_of(const std::vector<ContainerTop>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.container.name);
  return out;
}

}  // namespace

TEST_CASE("ctl top: the CPU rate is CPU time over the time between two reads", "[ctl][stats]") {
  // Half a core for 2 s, then the numbers of the second read.
  auto u = usage_between(read_of(10 * kSecond, 100 * kSecond), read_of(11 * kSecond, 102 * kSecond, 3 * kMi, 4));
  CHECK(u.measured);
  REQUIRE(u.nano_cores);
  CHECK(*u.nano_cores == 500'000'000);
  CHECK(u.cpu_usage_ns == 11 * kSecond);
  CHECK(u.working_set == 3 * kMi);
  CHECK(u.memory_usage == 3 * kMi + 4096);
  CHECK(u.rss == 3 * kMi / 2);
  CHECK(u.pids == 4);
  // Two busy cores.
  CHECK(usage_between(read_of(0, 0), read_of(2 * kSecond, kSecond)).nano_cores == 2'000'000'000);
  // Idle: measured, zero.
  CHECK(usage_between(read_of(5, 0), read_of(5, kSecond)).nano_cores == 0);
}

TEST_CASE("ctl top: no rate for a container that started, stopped or restarted between the reads", "[ctl][stats]") {
  // Not running at either read: nothing measured, zeros.
  auto u = usage_between(absent(0), absent(kSecond));
  CHECK_FALSE(u.measured);
  CHECK_FALSE(u.nano_cores);
  CHECK(u.cpu_usage_ns == 0);
  CHECK(u.working_set == 0);
  CHECK(u.pids == 0);
  // Stopped in between: gone at the second read.
  u = usage_between(read_of(kSecond, 0, kMi), absent(kSecond));
  CHECK_FALSE(u.measured);
  CHECK(u.working_set == 0);
  // Started in between: its memory, but no rate.
  u = usage_between(absent(0), read_of(kSecond, kSecond, kMi));
  CHECK(u.measured);
  CHECK_FALSE(u.nano_cores);
  CHECK(u.working_set == kMi);
  // Restarted in between: the counter went back.
  u = usage_between(read_of(9 * kSecond, 0), read_of(kSecond, kSecond));
  CHECK(u.measured);
  CHECK_FALSE(u.nano_cores);
  // Two reads at the same instant tell no rate either.
  CHECK_FALSE(usage_between(read_of(0, kSecond), read_of(kSecond, kSecond)).nano_cores);
}

TEST_CASE("ctl top: two reads of a cgroup tree on disk give the rate of the CPU time in between", "[ctl][stats]") {
  lxe::test::TempDir root;
  lxe::test::write_file(root.file("cgroup.controllers"), "cpu memory pids\n");
  put_unified(root, "lxe-web-app-0123", 1'000'000, 50 * kMi, 10 * kMi, 3);
  const CgroupReader reader(root.path());
  CgroupRead first{reader.read("lxe-web-app-0123"), 7 * kSecond};
  put_unified(root, "lxe-web-app-0123", 1'750'000, 60 * kMi, 10 * kMi, 5);  // 0.75 s of CPU later
  CgroupRead second{reader.read("lxe-web-app-0123"), 8 * kSecond};
  const Usage u = usage_between(first, second);
  CHECK(u.measured);
  CHECK(u.nano_cores == 750'000'000);
  CHECK(u.cpu_usage_ns == 1'750'000'000);
  CHECK(u.working_set == 50 * kMi);  // memory.current minus inactive_file
  CHECK(u.memory_usage == 60 * kMi);
  CHECK(u.rss == 2 * kMi);
  CHECK(u.pids == 5);
  // An instance without a cgroup (not running).
  CHECK_FALSE(usage_between({reader.read("lxe-web-gone-0123"), 0}, {reader.read("lxe-web-gone-0123"), kSecond})
                  .measured);
}

TEST_CASE("ctl top: --sort cpu and --sort memory put the largest first, the unmeasured last", "[ctl]") {
  const SandboxRecord pod = sandbox(std::string(64, 'a'), "web", "prod");
  std::vector<ContainerTop> rows = {
      {container(std::string(64, '1'), pod, "idle", true), &pod, measured(1'000'000, 5 * kMi)},
      {container(std::string(64, '2'), pod, "gone", false), &pod, {}},
      {container(std::string(64, '3'), pod, "busy", true), &pod, measured(980'000'000, 2 * kMi)},
      {container(std::string(64, '4'), pod, "fresh", true), &pod, measured(std::nullopt, 9 * kMi)},
      {container(std::string(64, '5'), pod, "twin", true), &pod, measured(1'000'000, 5 * kMi)},
  };
  auto by_cpu = rows;
  sort_top(by_cpu, TopSort::Cpu);
  // Equal rates keep the order they were in; rows without a rate come last, in their order.
  CHECK(names_of(by_cpu) == std::vector<std::string>{"busy", "idle", "twin", "gone", "fresh"});
  auto by_memory = rows;
  sort_top(by_memory, TopSort::Memory);
  CHECK(names_of(by_memory) == std::vector<std::string>{"fresh", "idle", "twin", "busy", "gone"});
  auto unsorted = rows;
  sort_top(unsorted, TopSort::None);
  CHECK(names_of(unsorted) == std::vector<std::string>{"idle", "gone", "busy", "fresh", "twin"});
}

TEST_CASE("ctl top: --pods adds up each pod's containers, in the pods' order", "[ctl]") {
  const std::vector<SandboxRecord> pods = {sandbox(std::string(64, 'a'), "web", "prod"),
                                           sandbox(std::string(64, 'b'), "db", "prod"),
                                           sandbox(std::string(64, 'c'), "empty", "prod")};
  const std::vector<ContainerTop> rows = {
      {container(std::string(64, '1'), pods[1], "pg", true), &pods[1], measured(250'000'000, 100 * kMi, 7)},
      {container(std::string(64, '2'), pods[0], "app", true), &pods[0], measured(500'000'000, 30 * kMi, 2)},
      {container(std::string(64, '3'), pods[0], "side", true), &pods[0], measured(std::nullopt, 10 * kMi, 1)},
      {container(std::string(64, '4'), pods[0], "old", false), &pods[0], {}},
      {container(std::string(64, '5'), pods[1], "done", false), &pods[1], {}},
  };
  auto totals = pod_totals(rows, pods);
  REQUIRE(totals.size() == 2);  // a pod without rows has no total
  CHECK(totals[0].sandbox_id == pods[0].id);
  CHECK(totals[0].pod == &pods[0]);
  CHECK(totals[0].containers == 3);
  CHECK(totals[0].usage.measured);
  CHECK(totals[0].usage.nano_cores == 500'000'000);  // of those with a rate
  CHECK(totals[0].usage.working_set == 40 * kMi);
  CHECK(totals[0].usage.pids == 3);
  CHECK(totals[1].sandbox_id == pods[1].id);
  CHECK(totals[1].containers == 2);
  CHECK(totals[1].usage.nano_cores == 250'000'000);
  CHECK(totals[1].usage.working_set == 100 * kMi);

  sort_top(totals, TopSort::Memory);
  CHECK(totals[0].sandbox_id == pods[1].id);
  sort_top(totals, TopSort::Cpu);
  CHECK(totals[0].sandbox_id == pods[0].id);

  // A pod none of whose containers runs: not measured, no rate.
  const std::vector<ContainerTop> stopped = {{container(std::string(64, '6'), pods[2], "x", false), &pods[2], {}}};
  const auto none = pod_totals(stopped, pods);
  REQUIRE(none.size() == 1);
  CHECK_FALSE(none[0].usage.measured);
  CHECK_FALSE(none[0].usage.nano_cores);
}

TEST_CASE("ctl top: the table shows cores, CPU time, kubectl's memory units, and '-' for what does not run",
          "[ctl]") {
  const SandboxRecord pod = sandbox("a0f5" + std::string(60, '1'), "web", "prod");
  Usage busy = measured(984'000'000, 3'565'158, 2);  // 3.4Mi
  busy.cpu_usage_ns = 83'400'000'000;                 // 1m23s
  busy.rss = 1536 * 1024;                             // 1.5Mi
  const std::vector<ContainerTop> rows = {
      {container("c3d4" + std::string(60, '3'), pod, "busy", true), &pod, busy},
      {container("c3e5" + std::string(60, '4'), pod, "fresh", true), &pod, measured(std::nullopt, 300 * 1024)},
      {container("e9f0" + std::string(60, '5'), pod, "done", false), &pod, {}},
  };
  const auto lines = non_empty_lines(top_table(rows).render(false));
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] ==
        "POD        CONTAINER   CONTAINER ID    STATE               CPU(cores)   CPU TIME   MEMORY   RSS     PIDS");
  CHECK(lines[1] ==
        "prod/web   busy        c3d4333333333   CONTAINER_RUNNING   0.98         1m23s      3.4Mi    1.5Mi   2");
  CHECK(lines[2] ==
        "prod/web   fresh       c3e5444444444   CONTAINER_RUNNING   -            0.0s       300Ki    0       1");
  CHECK(lines[3] ==
        "prod/web   done        e9f0555555555   CONTAINER_EXITED    -            -          -        -       -");
  // Every row splits into the same number of fields.
  for (const auto& line : lines) {
    std::istringstream words(line);
    CHECK(std::distance(std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()) ==
          (line == lines[0] ? 11 : 9));  // "CONTAINER ID" and "CPU TIME" are two words each, in the header
  }

  const auto pods = pod_totals(rows, {pod});
  const auto pod_lines = non_empty_lines(pod_top_table(pods).render(false));
  REQUIRE(pod_lines.size() == 2);
  CHECK(pod_lines[0] ==
        "POD        POD ID          STATE           CONTAINERS   CPU(cores)   CPU TIME   MEMORY   RSS     PIDS");
  CHECK(pod_lines[1] ==
        "prod/web   a0f5111111111   SANDBOX_READY   3            0.98         1m23s      3.7Mi    1.5Mi   3");
}

TEST_CASE("ctl top: JSON has CRI's stats names, raw numbers, and null for a rate it cannot tell", "[ctl]") {
  const SandboxRecord pod = sandbox(std::string(64, 'a'), "web", "prod");
  Usage busy = measured(984'000'000, 3 * kMi, 2);
  busy.cpu_usage_ns = 83'400'000'000;
  const ContainerTop row{container(std::string(64, '1'), pod, "busy", true), &pod, busy};
  const auto j = top_json(row);
  CHECK(j["id"] == std::string(64, '1'));
  CHECK(j["podSandboxId"] == pod.id);
  CHECK(j["metadata"]["name"] == "busy");
  CHECK(j["pod"]["namespace"] == "prod");
  CHECK(j["state"] == "CONTAINER_RUNNING");
  CHECK(j["lxdName"] == row.container.lxd_name);
  CHECK(j["measured"] == true);
  CHECK(j["cpu"]["usageNanoCores"] == 984'000'000);
  CHECK(j["cpu"]["usageCoreNanoSeconds"] == 83'400'000'000);
  CHECK(j["memory"]["workingSetBytes"] == 3 * kMi);
  CHECK(j["memory"]["usageBytes"] == 0);
  CHECK(j["process"]["processCount"] == 2);

  const auto stopped = top_json({container(std::string(64, '2'), pod, "done", false), &pod, {}});
  CHECK(stopped["measured"] == false);
  CHECK(stopped["cpu"]["usageNanoCores"].is_null());
  CHECK(stopped["cpu"]["usageCoreNanoSeconds"] == 0);
  CHECK(stopped["memory"]["workingSetBytes"] == 0);

  const auto p = pod_top_json(pod_totals({row}, {pod})[0]);
  CHECK(p["id"] == pod.id);
  CHECK(p["metadata"]["name"] == "web");
  CHECK(p["metadata"]["namespace"] == "prod");
  CHECK(p["state"] == "SANDBOX_READY");
  CHECK(p["containerCount"] == 1);
  CHECK(p["cpu"]["usageNanoCores"] == 984'000'000);
}
