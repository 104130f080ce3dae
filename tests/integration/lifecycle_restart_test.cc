// lxe restarts without touching what runs: the store keeps the CRI state, the reconciler adopts
// the LXD instances as they are, and an exit that happened while lxe was down is still reported.
#include <catch2/catch.hpp>

#include <signal.h>

#include <thread>

#include "support/cri_fixture.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;

namespace {

// The LXD instance of a container: its name ends with the first 12 digits of the CRI ID.
std::string instance_of(const CriFixture& fx, const std::string& container_id) {
  const std::string tail = "-" + container_id.substr(0, 12);
  for (const auto& name : fx.lxd_instances())
    if (name.size() > tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0) return name;
  return "";
}

}  // namespace

TEST_CASE("lifecycle: lxe restarts and keeps its pods and running containers as they are", "[lifecycle][lxd]") {
  CriFixture fx("restart");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string keeps = fx.must_run_container(pod_id, fx.container_config("keeps", {"sleep", "3600"}, "keeps.log"), pod);
  // Ends with code 5 once told to (by a file), which happens while lxe is down.
  const std::string ends = fx.must_run_container(
      pod_id,
      fx.container_config("ends", {"sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.1; done; echo bye; exit 5"},
                          "ends.log"),
      pod);

  // Created before the restart, started after it.
  const std::string later = fx.must_create_container(pod_id, fx.container_config("later", {"sleep", "3600"}), pod);

  const std::string keeps_instance = instance_of(fx, keeps);
  const std::string ends_instance = instance_of(fx, ends);
  REQUIRE_FALSE(keeps_instance.empty());
  REQUIRE_FALSE(ends_instance.empty());
  const int64_t pid_before = fx.lxd().get_instance_state(keeps_instance).pid;
  REQUIRE(pid_before > 0);
  const auto status_before = fx.container_status(keeps).value;
  REQUIRE(status_before.state() == cri::CONTAINER_RUNNING);

  // lxe goes down.
  fx.daemon().stop(SIGTERM, std::chrono::seconds(15));
  // Meanwhile the "ends" container's command ends.
  fx.lxd().exec(ends_instance, {"touch", "/tmp/go"});
  {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (fx.lxd().get_instance(ends_instance).running() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    REQUIRE_FALSE(fx.lxd().get_instance(ends_instance).running());
  }

  // A new lxe on the same socket and store.
  fx.restart_daemon();

  {
    const auto pods = fx.list_pods();
    REQUIRE(pods.size() == 1);
    CHECK(pods[0].id() == pod_id);
    CHECK(pods[0].state() == cri::SANDBOX_READY);
  }
  {
    // Right after the restart, "ends" is already EXITED: lxe read lxe-init's exit record before
    // it served anything (no LXD call needed).
    {
      cri::ContainerFilter exited;
      exited.set_id(ends);
      const auto listed = fx.list_containers(exited);
      REQUIRE(listed.size() == 1);
      CHECK(listed[0].state() == cri::CONTAINER_EXITED);
    }
    cri::ContainerFilter filter;
    filter.set_id(keeps);
    filter.mutable_state()->set_state(cri::CONTAINER_RUNNING);
    const auto listed = fx.list_containers(filter);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].pod_sandbox_id() == pod_id);
    CHECK(fx.list_containers().size() == 3);
  }
  {
    const auto st = fx.container_status(keeps);
    REQUIRE(st.ok());
    CHECK(st.value.state() == cri::CONTAINER_RUNNING);
    CHECK(st.value.started_at() == status_before.started_at());
    CHECK(st.value.created_at() == status_before.created_at());
  }
  // Not restarted: the same init process.
  CHECK(fx.lxd().get_instance_state(keeps_instance).pid == pid_before);
  // And still usable through the new lxe.
  {
    const auto r = fx.exec(keeps, {"sh", "-c", "echo still here"});
    INFO(describe(r.status));
    REQUIRE(r.ok());
    CHECK(r.value.stdout() == "still here\n");
  }
  // The exit that happened while lxe was down, from the exit record lxe-init left.
  {
    const auto st = fx.wait_for_state(ends, cri::CONTAINER_EXITED);
    INFO("reason " << st.reason() << " message " << st.message());
    REQUIRE(st.state() == cri::CONTAINER_EXITED);
    CHECK(st.exit_code() == 5);
    CHECK(st.reason() == "Error");
    CHECK(st.finished_at() > st.started_at());
  }
  CHECK(fx.lxd().get_instance_state(keeps_instance).pid == pid_before);

  // The container created before the restart is still CREATED, and starts.
  CHECK(fx.container_status(later).value.state() == cri::CONTAINER_CREATED);
  {
    const auto status = fx.start(later);
    INFO(describe(status));
    REQUIRE(status.ok());
    CHECK(fx.container_status(later).value.state() == cri::CONTAINER_RUNNING);
    const auto r = fx.exec(later, {"true"});
    INFO(describe(r.status));
    CHECK(r.ok());
  }

  // The adopted container stops as any other: SIGTERM reaches the command.
  REQUIRE(fx.stop(keeps, 5).ok());
  {
    const auto st = fx.container_status(keeps);
    REQUIRE(st.ok());
    CHECK(st.value.state() == cri::CONTAINER_EXITED);
    CHECK(st.value.exit_code() == 143);
  }

  fx.remove_all_pods_and_expect_clean();
}
