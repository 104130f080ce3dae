// What happens in LXD behind lxe's back reaches CRI: a container instance stopped or deleted
// outside lxe ends EXITED, a pod whose namespace holder stopped is NOTREADY, and removal still
// cleans up whatever is left.
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
    CHECK(st.finished_at() > 0);
  }
  // `lxc delete --force` of a container: EXITED too, and the record stays until RemoveContainer.
  fx.out_of_band_delete(deleted_instance);
  {
    const auto st = fx.wait_for_state(deleted, cri::CONTAINER_EXITED);
    INFO("reason " << st.reason() << " message " << st.message());
    REQUIRE(st.state() == cri::CONTAINER_EXITED);
    CHECK(st.exit_code() != 0);
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
