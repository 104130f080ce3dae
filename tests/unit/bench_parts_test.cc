// lxe-bench's smaller parts: who owns an LXD object, work spread over threads, interrupts, the
// kubelet-like requests, the raw-LXD records, host helpers.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>

#include "host.h"
#include "interrupts.h"
#include "lxd_sweep.h"
#include "results.h"
#include "options.h"
#include "parallel.h"
#include "raw_lxd.h"
#include "support/temp_dir.h"
#include "workload.h"

using namespace lxe::bench;

TEST_CASE("bench parts: prefixes and who owns an object", "[bench]") {
  CHECK(valid_bench_prefix("lxebench-0a1b2c"));
  CHECK_FALSE(valid_bench_prefix("lxebench-0a1b2"));
  CHECK_FALSE(valid_bench_prefix("lxe"));
  CHECK(has_prefix("lxebench-0a1b2c-p1-abc", "lxebench-0a1b2c"));
  CHECK_FALSE(has_prefix("lxebench-0a1b2cd-p1", "lxebench-0a1b2c"));
  CHECK(owner_of({}) == Owner::Unmarked);
  CHECK(owner_of({{kMarkKey, std::to_string(getpid())}}) == Owner::Ours);
  CHECK(owner_of({{kMarkKey, "x12"}}) == Owner::Foreign);
  CHECK(owner_of({{kMarkKey, ""}}) == Owner::Foreign);
  // PID 1 is alive but is not an lxe-bench: its objects are a dead run's.
  CHECK(owner_of({{kMarkKey, "1"}}) == Owner::Dead);
}

TEST_CASE("bench parts: parallel_for runs every item once, one failure per line", "[bench]") {
  std::atomic<int> sum{0};
  std::set<size_t> workers;
  std::mutex mutex;
  const auto errors = parallel_for(
      100, 4,
      [&](size_t i, size_t worker) {
        {
          std::lock_guard lock(mutex);
          workers.insert(worker);
        }
        if (i % 10 == 3) throw std::runtime_error("boom");
        sum += static_cast<int>(i);
      },
      nullptr);
  CHECK(errors.size() == 10);
  CHECK_THAT(errors.front(), Catch::Contains(": boom"));
  CHECK(sum == 4950 - (3 + 13 + 23 + 33 + 43 + 53 + 63 + 73 + 83 + 93));
  CHECK(*workers.rbegin() < 4);
  Interrupts interrupts("lxebench-000000");
  CHECK_THROWS_WITH(throw_if_errors(errors, "populating", interrupts),
                    Catch::StartsWith("populating: 10 failure(s): #"));
  CHECK_NOTHROW(throw_if_errors({}, "populating", interrupts));
}

TEST_CASE("bench parts: an interrupt stops new work and throws at the next check", "[bench]") {
  Interrupts interrupts("lxebench-000000");
  CHECK_FALSE(interrupts.requested());
  CHECK_NOTHROW(interrupts.check());
  interrupts.request();
  CHECK(interrupts.requested());
  CHECK_THROWS_AS(interrupts.check(), Interrupted);
  int ran = 0;
  parallel_for(5, 1, [&](size_t, size_t) { ++ran; }, &interrupts);
  CHECK(ran == 0);
  parallel_for(5, 1, [&](size_t, size_t) { ++ran; }, nullptr);  // clean-up runs anyway
  CHECK(ran == 5);
  CHECK_THROWS_AS(throw_if_errors({}, "x", interrupts), Interrupted);
}

TEST_CASE("bench parts: the requests look like kubelet's, with their host files", "[bench]") {
  const lxe::test::TempDir dir;
  const Workload workload(dir.path(), "busybox");
  const auto pod = workload.pod("p1");
  CHECK(pod.metadata().name() == "p1");
  CHECK(pod.metadata().namespace_() == "bench");
  CHECK(pod.metadata().uid().size() == 36);
  CHECK(pod.log_directory() == dir.path() + "/logs/bench_p1_" + pod.metadata().uid());
  CHECK(pod.labels().at("io.kubernetes.pod.uid") == pod.metadata().uid());
  CHECK(workload.pod("p1").metadata().uid() != pod.metadata().uid());
  const auto c = workload.container("c0", pod);
  CHECK(c.image().image() == "busybox");
  CHECK(c.log_path() == "c0/0.log");
  CHECK(c.linux().resources().cpu_shares() == 2);
  CHECK(c.linux().resources().oom_score_adj() == 1000);
  REQUIRE(c.mounts_size() == 3);
  CHECK(c.mounts(0).container_path() == "/etc/hosts");
  CHECK(c.mounts(2).readonly());
  for (const auto& m : c.mounts()) CHECK(std::filesystem::exists(m.host_path()));
  CHECK(std::filesystem::exists(c.mounts(2).host_path() + "/token"));
}

TEST_CASE("bench parts: the raw side's records are filled as lxe's facade fills them", "[bench]") {
  const lxe::test::TempDir dir;
  std::ofstream(dir.file("lxe-init")) << "#!/bin/true\n";
  const lxe::lxd::Client lxd(lxe::lxd::ClientOptions{.socket_path = dir.file("no-lxd.sock")});  // never called
  const RawLxd raw(lxd, "lxebench-0a1b2c", dir.file("root"), dir.file("lxe-init"), {{kMarkKey, "42"}},
                   [] { return lxe::reconcile::VolumeSupport{true, ""}; });
  CHECK(std::filesystem::exists(raw.files().init_binary()));
  const Workload workload(dir.path(), "busybox");
  const auto pod = raw.pod(workload.pod("p1"));
  CHECK(pod.record.id.size() == 64);
  CHECK(pod.record.name == "p1");
  CHECK(pod.record.namespace_ == "bench");
  CHECK_THAT(pod.record.lxd_name, Catch::StartsWith("lxebench-0a1b2c-p1-"));
  CHECK(pod.record.labels.at("app") == "bench");
  CHECK(pod.record.annotations.count("kubernetes.io/config.seen") == 1);
  const auto ctr = raw.container(pod, workload.container("c0", pod.config));
  CHECK(ctr.record.sandbox_id == pod.record.id);
  CHECK(ctr.record.name == "c0");
  CHECK(ctr.record.image == "busybox");
  CHECK_THAT(ctr.record.lxd_name, Catch::StartsWith("lxebench-0a1b2c-p1-c0-"));
  CHECK(ctr.record.log_path == pod.config.log_directory() + "/c0/0.log");
  CHECK_THAT(ctr.record.resources_json, Catch::Contains("\"cpu_shares\":\"2\""));
  // The objects carry the mark, and the container its limits.
  CHECK(raw.profile_spec(pod).config.at(kMarkKey) == "42");
  CHECK(raw.holder_spec(pod).config.at(kMarkKey) == "42");
  const auto spec = raw.container_spec(ctr, pod);
  CHECK(spec.config.at(kMarkKey) == "42");
  CHECK(spec.config.at("limits.cpu.allowance") == "1%");
  // Its volumes as lxe's: the staged mounts, at the paths kubelet gives (resolved at the start).
  CHECK(spec.devices.at("mount2").at("source") == raw.files().volume_stage(ctr.record.id, 2));
  CHECK(spec.devices.at("mount2").at("path") == "/var/run/secrets/kubernetes.io/serviceaccount");
  for (const auto& call : lifecycle_calls()) CHECK(RawLxd::steps().count(call) == 1);
}

TEST_CASE("bench parts: random hex and sizes", "[bench]") {
  const std::string hex = random_hex(12);
  CHECK(hex.size() == 12);
  CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(random_hex(12) != hex);
  CHECK(kib(61440) == "60 KiB");
  CHECK(mib_of_kb(23552) == "23.0 MiB");
  const lxe::test::TempDir dir;
  std::ofstream(dir.file("f")) << "abc";
  CHECK(file_size(dir.file("f")) == 3);
  CHECK(file_size(dir.file("missing")) == 0);
  CHECK(read_file(dir.file("f")) == "abc");
  CHECK_THAT(loadavg(), Catch::Matches(R"([0-9.]+ / [0-9.]+ / [0-9.]+)"));
}
