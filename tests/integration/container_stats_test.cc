// ContainerStats and ListContainerStats against real containers: a container burning a core shows
// about one core, a created one has zeros, filters select as CRI defines them; a container's
// writable layer grows by what it writes.
#include <catch2/catch.hpp>

#include <functional>
#include <thread>

#include "common/filesystems.h"
#include "reconcile/volumes.h"
#include "support/cri_fixture.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;

namespace {

cri::ContainerStats stats(CriFixture& fx, const std::string& id) {
  auto ctx = lxe::test::context_with_deadline();
  cri::ContainerStatsRequest request;
  request.set_container_id(id);
  cri::ContainerStatsResponse response;
  const auto status = fx.runtime().ContainerStats(ctx.get(), request, &response);
  INFO(describe(status));
  REQUIRE(status.ok());
  return response.stats();
}

std::vector<cri::ContainerStats> list(CriFixture& fx, const cri::ContainerStatsFilter* filter) {
  auto ctx = lxe::test::context_with_deadline();
  cri::ListContainerStatsRequest request;
  if (filter) *request.mutable_filter() = *filter;
  cri::ListContainerStatsResponse response;
  REQUIRE(fx.runtime().ListContainerStats(ctx.get(), request, &response).ok());
  return {response.stats().begin(), response.stats().end()};
}

}  // namespace

TEST_CASE("stats: a busy container shows its CPU and memory, a created one zeros, the pod sums them", "[stats][lxd]") {
  CriFixture fx("stats");
  auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  auto busy = CriFixture::container_config("busy", {"sh", "-c", "while :; do :; done"});
  (*busy.mutable_labels())["role"] = "busy";
  const std::string busy_id = fx.must_run_container(pod_id, busy, pod);
  const std::string idle_id = fx.must_create_container(pod_id, CriFixture::container_config("idle", {"sleep", "1"}), pod);

  const auto first = stats(fx, busy_id);
  CHECK(first.attributes().id() == busy_id);
  CHECK(first.attributes().metadata().name() == "busy");
  CHECK(first.attributes().labels().at("role") == "busy");
  CHECK(first.cpu().timestamp() > 0);
  CHECK(first.memory().timestamp() > 0);
  CHECK(first.memory().working_set_bytes().value() > 0);
  CHECK(first.memory().usage_bytes().value() >= first.memory().working_set_bytes().value());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const auto second = stats(fx, busy_id);
  CHECK(second.cpu().usage_core_nano_seconds().value() > first.cpu().usage_core_nano_seconds().value());
  // One shell loop keeps one core busy; on a loaded 2-core machine it gets at least a good part.
  const double cores = static_cast<double>(second.cpu().usage_nano_cores().value()) / 1e9;
  INFO("cores: " << cores);
  CHECK(cores > 0.3);
  CHECK(cores < 1.3);

  const auto created = stats(fx, idle_id);
  CHECK(created.cpu().timestamp() > 0);
  CHECK(created.cpu().usage_core_nano_seconds().value() == 0);
  CHECK(created.memory().working_set_bytes().value() == 0);

  CHECK(list(fx, nullptr).size() >= 2);
  cri::ContainerStatsFilter filter;
  filter.set_pod_sandbox_id(pod_id);
  CHECK(list(fx, &filter).size() == 2);
  filter.clear_pod_sandbox_id();
  (*filter.mutable_label_selector())["role"] = "busy";
  const auto selected = list(fx, &filter);
  REQUIRE(selected.size() == 1);
  CHECK(selected[0].attributes().id() == busy_id);
  filter.clear_label_selector();
  filter.set_id(idle_id);
  REQUIRE(list(fx, &filter).size() == 1);

  // The pod's stats: its containers', summed with its holder's.
  {
    auto pctx = lxe::test::context_with_deadline();
    cri::PodSandboxStatsRequest request;
    request.set_pod_sandbox_id(pod_id);
    cri::PodSandboxStatsResponse response;
    const auto status = fx.runtime().PodSandboxStats(pctx.get(), request, &response);
    INFO(describe(status));
    REQUIRE(status.ok());
    const auto& pod_stats = response.stats();
    CHECK(pod_stats.attributes().id() == pod_id);
    CHECK(pod_stats.attributes().metadata().name() == fx.pod_name("p"));
    REQUIRE(pod_stats.linux().containers_size() == 2);
    const auto busy_now = stats(fx, busy_id);
    CHECK(pod_stats.linux().cpu().usage_core_nano_seconds().value() >= second.cpu().usage_core_nano_seconds().value());
    CHECK(pod_stats.linux().memory().working_set_bytes().value() >= busy_now.memory().working_set_bytes().value() / 2);
    CHECK(pod_stats.linux().process().process_count().value() >= 2);  // the holder's and the busy shell
    auto lctx = lxe::test::context_with_deadline();
    cri::ListPodSandboxStatsRequest list_request;
    list_request.mutable_filter()->set_id(pod_id);
    cri::ListPodSandboxStatsResponse listed;
    REQUIRE(fx.runtime().ListPodSandboxStats(lctx.get(), list_request, &listed).ok());
    REQUIRE(listed.stats_size() == 1);
    CHECK(listed.stats(0).linux().containers_size() == 2);
  }

  // Stopped: zeros at once, while LXD may still be tearing the instance down (what is left in
  // its cgroup then is lxe-init on its way out, not the workload).
  REQUIRE(fx.stop(busy_id, 0).ok());
  const auto stopped = stats(fx, busy_id);
  CHECK(stopped.cpu().usage_core_nano_seconds().value() == 0);
  CHECK(stopped.memory().working_set_bytes().value() == 0);

  auto ctx = lxe::test::context_with_deadline();
  cri::ContainerStatsRequest unknown;
  unknown.set_container_id("0123456789abcdef");
  cri::ContainerStatsResponse response;
  CHECK(fx.runtime().ContainerStats(ctx.get(), unknown, &response).error_code() == grpc::StatusCode::NOT_FOUND);
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("stats: the writable layer is the rootfs's usage and grows by what the container writes", "[stats][lxd]") {
  // Measurements at most 1 s old, so the test sees a write within seconds, not a minute.
  CriFixture fx("wlayer", {"--writable-layer-refresh", "1"});
  auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string id =
      fx.must_run_container(pod_id, CriFixture::container_config("writer", {"sleep", "3600"}), pod);

  // The first ask only queues the first walk: nothing is known yet.
  CHECK_FALSE(stats(fx, id).has_writable_layer());

  // Polls ContainerStats until its writable layer satisfies `done`; a generous deadline, for a
  // loaded machine (nothing is asserted about how long it takes).
  const auto wait_for_layer = [&](const std::function<bool(const cri::FilesystemUsage&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    cri::ContainerStats last;
    while (std::chrono::steady_clock::now() < deadline) {
      last = stats(fx, id);
      if (last.has_writable_layer() && done(last.writable_layer())) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return last;
  };
  const auto before = wait_for_layer([](const cri::FilesystemUsage&) { return true; });
  REQUIRE(before.has_writable_layer());
  const auto& layer = before.writable_layer();
  CHECK(layer.timestamp() > 0);
  CHECK(layer.used_bytes().value() > 0);
  CHECK(layer.inodes_used().value() > 10);  // busybox's applet links, /bin, /etc...
  // The mount holding the container's rootfs, as LXD has it on this (dir) pool.
  std::string instance;
  for (const auto& name : fx.lxd_instances())
    if (name.find("-writer-") != std::string::npos) instance = name;
  REQUIRE_FALSE(instance.empty());
  const std::string rootfs = lxe::reconcile::instance_rootfs(fx.lxd(), fx.lxd().get_instance(instance));
  CHECK(layer.fs_id().mountpoint() == lxe::mount_point_of(rootfs));

  constexpr uint64_t kWritten = 5 * 1024 * 1024;
  const auto wrote = fx.exec(id, {"sh", "-c", "dd if=/dev/zero of=/written-by-test bs=1048576 count=5 && sync"});
  INFO(describe(wrote.status));
  REQUIRE(wrote.ok());
  INFO(wrote.value.stderr());
  REQUIRE(wrote.value.exit_code() == 0);

  const uint64_t base = layer.used_bytes().value();
  const auto after = wait_for_layer(
      [&](const cri::FilesystemUsage& l) { return l.used_bytes().value() >= base + kWritten * 9 / 10; });
  REQUIRE(after.has_writable_layer());
  INFO("before " << base << " B, after " << after.writable_layer().used_bytes().value() << " B");
  CHECK(after.writable_layer().used_bytes().value() >= base + kWritten * 9 / 10);
  CHECK(after.writable_layer().used_bytes().value() <= base + kWritten + 1024 * 1024);
  CHECK(after.writable_layer().inodes_used().value() >= layer.inodes_used().value() + 1);
  CHECK(after.writable_layer().timestamp() > layer.timestamp());

  // A pod's stats carry each container's, writable layer included.
  {
    auto ctx = lxe::test::context_with_deadline();
    cri::PodSandboxStatsRequest request;
    request.set_pod_sandbox_id(pod_id);
    cri::PodSandboxStatsResponse response;
    REQUIRE(fx.runtime().PodSandboxStats(ctx.get(), request, &response).ok());
    REQUIRE(response.stats().linux().containers_size() == 1);
    const auto& in_pod = response.stats().linux().containers(0);
    CHECK(in_pod.attributes().id() == id);
    REQUIRE(in_pod.has_writable_layer());
    CHECK(in_pod.writable_layer().used_bytes().value() >= base + kWritten * 9 / 10);
  }
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("stats: a container holding 100 MB shows about 100 MB of working set, and the pod adds up its containers",
          "[stats][lxd]") {
  CriFixture fx("stats100");
  auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  // A shell variable of 100,000,000 bytes: anonymous memory the shell keeps while it sleeps.
  const std::string holder_id = fx.must_run_container(
      pod_id,
      CriFixture::container_config(
          "holder", {"sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); while :; do sleep 1; done"}),
      pod);
  const std::string idle_id = fx.must_run_container(pod_id, CriFixture::container_config("idle", {"sleep", "3600"}), pod);

  // The variable is filled a moment after the start: wait until the working set passes 90 MB.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  uint64_t working_set = 0;
  while (working_set < 90'000'000 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    working_set = stats(fx, holder_id).memory().working_set_bytes().value();
  }
  INFO("working set: " << working_set);
  CHECK(working_set >= 90'000'000);
  // The string is built by command substitution: what the shell keeps is the string itself, with
  // some allocator slack, not the whole pipe's history.
  CHECK(working_set <= 260'000'000);

  auto ctx = lxe::test::context_with_deadline();
  cri::PodSandboxStatsRequest request;
  request.set_pod_sandbox_id(pod_id);
  cri::PodSandboxStatsResponse response;
  REQUIRE(fx.runtime().PodSandboxStats(ctx.get(), request, &response).ok());
  const auto& linux = response.stats().linux();
  REQUIRE(linux.containers_size() == 2);
  uint64_t containers_working_set = 0, containers_cpu = 0;
  for (const auto& c : linux.containers()) {
    containers_working_set += c.memory().working_set_bytes().value();
    containers_cpu += c.cpu().usage_core_nano_seconds().value();
  }
  // The pod is its containers (read in the same call) plus its namespace holder's small share.
  CHECK(linux.memory().working_set_bytes().value() >= containers_working_set);
  CHECK(linux.memory().working_set_bytes().value() <= containers_working_set + 20'000'000);
  CHECK(linux.cpu().usage_core_nano_seconds().value() >= containers_cpu);
  CHECK(linux.memory().working_set_bytes().value() >= 90'000'000);
  (void)idle_id;
  fx.remove_all_pods_and_expect_clean();
}
