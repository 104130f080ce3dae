// What happens in LXD behind lxe's back reaches CRI: a container instance stopped or deleted
// outside lxe ends EXITED, a pod whose namespace holder stopped or was restarted (seen live or
// after lxe itself restarted) is NOTREADY, and removal still cleans up whatever is left.
#include <catch2/catch.hpp>

#include <thread>

#include "support/cri_fixture.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;

namespace {

// The LXD instance of a container or pod: its name ends with the first 12 digits of the CRI ID.
std::string instance_of(const CriFixture& fx, const std::string& id) {
  const std::string tail = "-" + id.substr(0, 12);
  for (const auto& name : fx.lxd_instances())
    if (name.size() > tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0) return name;
  return "";
}

cri::PodSandboxState wait_for_pod_state(CriFixture& fx, const std::string& pod_id, cri::PodSandboxState state) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  cri::PodSandboxState last = cri::SANDBOX_READY;
  while (true) {
    const auto r = fx.pod_status(pod_id);
    if (r.ok()) last = r.value.status().state();
    if (last == state || std::chrono::steady_clock::now() >= deadline) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

TEST_CASE("lifecycle: instances stopped or deleted outside lxe show in CRI", "[lifecycle][lxd]") {
  CriFixture fx("outside");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string stopped = fx.must_run_container(pod_id, fx.container_config("stopped", {"sleep", "3600"}), pod);
  const std::string deleted = fx.must_run_container(pod_id, fx.container_config("deleted", {"sleep", "3600"}), pod);
  const std::string stopped_instance = instance_of(fx, stopped);
  const std::string deleted_instance = instance_of(fx, deleted);
  const std::string holder = instance_of(fx, pod_id);
  REQUIRE_FALSE(stopped_instance.empty());
  REQUIRE_FALSE(deleted_instance.empty());
  REQUIRE_FALSE(holder.empty());

  // `lxc stop --force` of a container: EXITED, killed.
  fx.out_of_band_stop(stopped_instance);
  {
    const auto st = fx.wait_for_state(stopped, cri::CONTAINER_EXITED);
    INFO("reason " << st.reason() << " message " << st.message());
    REQUIRE(st.state() == cri::CONTAINER_EXITED);
    CHECK(st.exit_code() == 137);
    CHECK(st.reason() == "Error");
    CHECK_THAT(st.message(), Catch::Contains("stopped outside lxe"));
    CHECK(st.finished_at() > 0);
  }
  // `lxc delete --force` of a container: EXITED too, and the record stays until RemoveContainer.
  fx.out_of_band_delete(deleted_instance);
  {
    const auto st = fx.wait_for_state(deleted, cri::CONTAINER_EXITED);
    INFO("reason " << st.reason() << " message " << st.message());
    REQUIRE(st.state() == cri::CONTAINER_EXITED);
    CHECK(st.exit_code() != 0);
    // `lxc delete --force` stops first: lxe may see the stop before the deletion.
    CHECK_THAT(st.message(), Catch::Contains("deleted outside lxe") || Catch::Contains("stopped outside lxe"));
    CHECK(st.finished_at() > 0);
  }
  {
    const auto status = fx.remove(deleted);
    INFO(describe(status));
    CHECK(status.ok());
    CHECK(fx.container_status(deleted).code() == grpc::StatusCode::NOT_FOUND);
  }

  // The pod's namespace holder stopped: the pod is NOTREADY (its namespaces are gone) and takes no
  // new containers.
  fx.out_of_band_stop(holder);
  CHECK(wait_for_pod_state(fx, pod_id, cri::SANDBOX_NOTREADY) == cri::SANDBOX_NOTREADY);
  {
    const auto reply = fx.create_container(pod_id, fx.container_config("late", {"sleep", "3600"}), pod);
    INFO(describe(reply.status));
    CHECK(reply.code() == grpc::StatusCode::FAILED_PRECONDITION);
  }

  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("lifecycle: a pod whose namespace holder was restarted outside lxe is NOTREADY", "[lifecycle][lxd]") {
  // A restarted holder runs again, so only its PID tells that the pod's namespaces are new: the
  // running containers still share the old ones, and new containers would not.
  // A holder for every pod, also for kubelet's PID mode, which lxe otherwise pins without one.
  CriFixture fx("holderpid", {"--pod-namespaces", "holder"});
  const auto live_pod = fx.pod_config("live");
  const std::string live_id = fx.must_run_pod(live_pod);
  // kubelet's PID mode (CONTAINER): with the pod's PID namespace shared (POD), the holder is PID 1
  // of the pod's processes and takes them with it when it stops, as a pause container does.
  auto down_pod = fx.pod_config("down");
  down_pod.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(cri::CONTAINER);
  const std::string down_id = fx.must_run_pod(down_pod);
  auto worker_config = fx.container_config("w", {"sleep", "3600"});
  worker_config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(cri::CONTAINER);
  const std::string worker = fx.must_run_container(down_id, worker_config, down_pod);
  const std::string live_holder = instance_of(fx, live_id);
  const std::string down_holder = instance_of(fx, down_id);
  const std::string worker_instance = instance_of(fx, worker);
  REQUIRE_FALSE(live_holder.empty());
  REQUIRE_FALSE(down_holder.empty());
  REQUIRE_FALSE(worker_instance.empty());
  const int64_t worker_pid = fx.lxd().get_instance_state(worker_instance).pid;
  const int64_t down_holder_pid = fx.lxd().get_instance_state(down_holder).pid;

  // While lxe is down: stop and start the holder again, as `lxc restart` does.
  fx.restart_daemon([&] {
    fx.out_of_band_stop(down_holder);
    fx.lxd().start_instance(down_holder);
  });
  REQUIRE(fx.lxd().get_instance_state(down_holder).pid != down_holder_pid);
  CHECK(wait_for_pod_state(fx, down_id, cri::SANDBOX_NOTREADY) == cri::SANDBOX_NOTREADY);
  {
    const auto reply = fx.create_container(down_id, fx.container_config("late", {"sleep", "3600"}), down_pod);
    INFO(describe(reply.status));
    CHECK(reply.code() == grpc::StatusCode::FAILED_PRECONDITION);
  }
  // Its running container is left as it is: kubelet decides what to do with the pod.
  CHECK(fx.lxd().get_instance_state(worker_instance).pid == worker_pid);
  CHECK(fx.container_status(worker).value.state() == cri::CONTAINER_RUNNING);

  // While lxe runs: the same, seen from LXD's events.
  REQUIRE(fx.pod_status(live_id).value.status().state() == cri::SANDBOX_READY);
  fx.out_of_band_stop(live_holder);
  fx.lxd().start_instance(live_holder);
  CHECK(wait_for_pod_state(fx, live_id, cri::SANDBOX_NOTREADY) == cri::SANDBOX_NOTREADY);

  fx.remove_all_pods_and_expect_clean();
}
