// StopContainer's grace period: the command gets SIGTERM and the timeout to end by itself, and is
// killed only after that.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <thread>

#include "support/cri_fixture.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;

namespace {

long long seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("lifecycle: StopContainer waits the grace period for the command, then kills it", "[lifecycle][lxd]") {
  CriFixture fx("stop");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  // Ends cleanly on SIGTERM.
  const std::string polite = fx.must_run_container(
      pod_id, fx.container_config("polite", {"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"}), pod);
  // Ignores SIGTERM (the ignoring is inherited by its sleeps).
  const std::string stubborn = fx.must_run_container(
      pod_id, fx.container_config("stubborn", {"sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"}), pod);

  {
    const auto t0 = std::chrono::steady_clock::now();
    const auto status = fx.stop(polite, 20);
    const auto ms = seconds_since(t0);
    INFO(describe(status) << " after " << ms << " ms");
    REQUIRE(status.ok());
    // Its own clean exit, long before the grace period is over.
    CHECK(ms < 15000);
    const auto st = fx.container_status(polite);
    REQUIRE(st.ok());
    CHECK(st.value.state() == cri::CONTAINER_EXITED);
    CHECK(st.value.exit_code() == 0);
    CHECK(st.value.reason() == "Completed");
  }
  {
    const auto t0 = std::chrono::steady_clock::now();
    const auto status = fx.stop(stubborn, 2);
    const auto ms = seconds_since(t0);
    INFO(describe(status) << " after " << ms << " ms");
    REQUIRE(status.ok());
    // Given its grace period, then killed: not at once, not after LXD's default 30 s.
    CHECK(ms >= 1500);
    CHECK(ms < 20000);
    const auto st = fx.container_status(stubborn);
    REQUIRE(st.ok());
    CHECK(st.value.state() == cri::CONTAINER_EXITED);
    CHECK(st.value.exit_code() == 137);
    CHECK(st.value.reason() == "Error");
  }

  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("lifecycle: pods do not share loopback or hostname", "[lifecycle][lxd]") {
  CriFixture fx("iso");
  auto pod_a = fx.pod_config("a");
  pod_a.set_hostname("host-a");
  auto pod_b = fx.pod_config("b");
  pod_b.set_hostname("host-b");
  const std::string a = fx.must_run_pod(pod_a);
  const std::string b = fx.must_run_pod(pod_b);
  const std::string server = fx.must_run_container(
      a, fx.container_config("server", {"sh", "-c", "while true; do echo hi | nc -l -p 8080; done"}), pod_a);
  const std::string other = fx.must_run_container(b, fx.container_config("other", {"sleep", "3600"}), pod_b);

  // In pod a, the port answers (retrying until the listener is up).
  {
    cri::ExecSyncResponse last;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
      const auto r = fx.exec(server, {"nc", "-w", "2", "127.0.0.1", "8080"}, 5);
      last = r.value;
      if ((r.ok() && last.stdout() == "hi\n") || std::chrono::steady_clock::now() >= deadline) break;
    }
    REQUIRE(last.stdout() == "hi\n");
  }
  // From pod b, 127.0.0.1:8080 is its own loopback: nobody listens there.
  {
    const auto r = fx.exec(other, {"nc", "-w", "2", "127.0.0.1", "8080"}, 5);
    INFO(describe(r.status) << " stdout '" << r.value.stdout() << "' stderr '" << r.value.stderr() << "'");
    REQUIRE(r.ok());
    CHECK(r.value.stdout().empty());
    CHECK(r.value.exit_code() != 0);
  }
  CHECK(fx.exec(server, {"hostname"}).value.stdout() == "host-a\n");
  CHECK(fx.exec(other, {"hostname"}).value.stdout() == "host-b\n");

  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("lifecycle: a StopContainer retried while the first stop runs returns only when the container stopped",
          "[lifecycle][lxd]") {
  CriFixture fx("stopretry");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  // Ignores SIGTERM: the first stop takes its whole grace period.
  const std::string stubborn = fx.must_run_container(
      pod_id, fx.container_config("stubborn", {"sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"}), pod);

  auto first = std::async(std::launch::async, [&] { return fx.stop(stubborn, 6); });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  // kubelet's retry after its first call ran out of time: the stop is recorded, not yet done.
  const auto second = fx.stop(stubborn, 6);
  INFO(describe(second));
  REQUIRE(second.ok());
  // OK means stopped: the state right after the answer is EXITED, not still RUNNING.
  const auto st = fx.container_status(stubborn);
  REQUIRE(st.ok());
  CHECK(st.value.state() == cri::CONTAINER_EXITED);
  CHECK(first.get().ok());

  fx.remove_all_pods_and_expect_clean();
}

namespace {

// The processes in the cgroup of LXD instance `instance` (any hierarchy that has it), each with
// its command line.
std::map<pid_t, std::string> cgroup_processes(const std::string& instance) {
  std::map<pid_t, std::string> out;
  std::error_code ec;
  for (const auto& hierarchy : std::filesystem::directory_iterator("/sys/fs/cgroup", ec)) {
    std::ifstream procs(hierarchy.path() / ("lxc.payload." + instance) / "cgroup.procs");
    pid_t pid = 0;
    while (procs >> pid) {
      std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
      std::string text((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
      std::replace(text.begin(), text.end(), '\0', ' ');
      out[pid] = text;
    }
  }
  return out;
}

std::string instance_of(CriFixture& fx, const std::string& container_name) {
  for (const auto& name : fx.lxd_instances())
    if (name.find("-" + container_name + "-") != std::string::npos) return name;
  return "";
}

bool eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace

TEST_CASE("lifecycle: StopContainer returns when lxe-init has ended every process of the container; LXD's teardown "
          "follows by itself",
          "[lifecycle][lxd]") {
  CriFixture fx("stopfast");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  // A background process besides the command: it is the container's too.
  const std::string id = fx.must_run_container(
      pod_id, fx.container_config("worker", {"sh", "-c", "sleep 300 & exec sleep 300"}), pod);
  const std::string instance = instance_of(fx, "worker");
  REQUIRE_FALSE(instance.empty());
  REQUIRE(cgroup_processes(instance).size() >= 3);  // lxe-init, sleep, sleep

  REQUIRE(fx.stop(id, 30).ok());
  // Right when the call returns: the exit is recorded, and nothing but lxe-init (on its way out)
  // is left of the container.
  const auto st = fx.container_status(id);
  REQUIRE(st.ok());
  CHECK(st.value.state() == cri::CONTAINER_EXITED);
  CHECK(st.value.exit_code() == 143);  // sleep, ended by SIGTERM
  CHECK(st.value.message().empty());   // lxe stopped it; nothing outside lxe did
  for (const auto& [pid, cmdline] : cgroup_processes(instance)) {
    INFO("pid " << pid << ": " << cmdline);
    CHECK(cmdline.find("/.lxe/init") == 0);
  }
  // LXD notices that lxe-init exited and stops the instance without being asked.
  CHECK(eventually([&] { return !fx.lxd().get_instance(instance).running(); }));
  // And the record stays as it was.
  const auto later = fx.container_status(id);
  CHECK(later.value.finished_at() == st.value.finished_at());
  CHECK(later.value.exit_code() == 143);

  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("lifecycle: StopPodSandbox records each container's exit from its lxe-init before the holder goes, in a "
          "shared PID namespace too",
          "[lifecycle][lxd]") {
  CriFixture fx("stoppod");
  auto pod = fx.pod_config("p");
  pod.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(cri::POD);
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string a = fx.must_run_container(pod_id, fx.container_config("a", {"sleep", "300"}), pod);
  const std::string b = fx.must_run_container(pod_id, fx.container_config("b", {"sleep", "300"}), pod);

  REQUIRE(fx.stop_pod(pod_id).ok());
  for (const auto& id : {a, b}) {
    const auto st = fx.container_status(id);
    REQUIRE(st.ok());
    CHECK(st.value.state() == cri::CONTAINER_EXITED);
    // Killed by the forced stop lxe asked lxe-init for (StopPodSandbox gives no grace period),
    // not ended with the holder's PID namespace before anyone recorded it.
    CHECK(st.value.exit_code() == 137);
    CHECK(st.value.message().empty());
  }
  // Every instance, the holder's too, stops by itself right after.
  CHECK(eventually([&] {
    for (const auto& name : fx.lxd_instances())
      if (fx.lxd().get_instance(name).running()) return false;
    return true;
  }));
  fx.remove_all_pods_and_expect_clean();
}
