// Stop and remove are idempotent, as CRI requires (kubelet repeats them after any doubt), and
// remove takes down what still runs.
#include <catch2/catch.hpp>

#include "support/cri_fixture.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;

TEST_CASE("lifecycle: stop and remove of unknown IDs succeed", "[lifecycle][lxd]") {
  CriFixture fx("unknown");
  for (const std::string& id : std::vector<std::string>{std::string(64, 'a'), std::string("0123456789ab"), std::string("no-such-id")}) {
    INFO("id " << id);
    const auto stop_container = fx.stop(id, 1);
    INFO(describe(stop_container));
    CHECK(stop_container.ok());
    const auto remove_container = fx.remove(id);
    INFO(describe(remove_container));
    CHECK(remove_container.ok());
    const auto stop_pod = fx.stop_pod(id);
    INFO(describe(stop_pod));
    CHECK(stop_pod.ok());
    const auto remove_pod = fx.remove_pod(id);
    INFO(describe(remove_pod));
    CHECK(remove_pod.ok());
  }
  CHECK(fx.list_pods().empty());
  CHECK(fx.list_containers().empty());
  fx.expect_lxd_clean();
}

TEST_CASE("lifecycle: stopping and removing twice succeeds, and remove takes down running things",
          "[lifecycle][lxd]") {
  CriFixture fx("twice");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string c1 = fx.must_run_container(pod_id, fx.container_config("c1", {"sleep", "3600"}), pod);
  const std::string c2 = fx.must_run_container(pod_id, fx.container_config("c2", {"sleep", "3600"}), pod);
  const std::string c3 = fx.must_create_container(pod_id, fx.container_config("c3", {"sleep", "3600"}), pod);
  REQUIRE(fx.lxd_instances().size() == 4);

  // Stop twice: the second changes nothing.
  REQUIRE(fx.stop(c1, 0).ok());
  const auto first = fx.container_status(c1);
  REQUIRE(first.ok());
  CHECK(first.value.state() == cri::CONTAINER_EXITED);
  {
    const auto status = fx.stop(c1, 0);
    INFO(describe(status));
    CHECK(status.ok());
  }
  const auto second = fx.container_status(c1);
  REQUIRE(second.ok());
  CHECK(second.value.state() == cri::CONTAINER_EXITED);
  CHECK(second.value.exit_code() == first.value.exit_code());
  CHECK(second.value.finished_at() == first.value.finished_at());

  // Stopping a created container is fine, and leaves it created (as containerd does).
  {
    const auto status = fx.stop(c3, 0);
    INFO(describe(status));
    CHECK(status.ok());
    CHECK(fx.container_status(c3).value.state() == cri::CONTAINER_CREATED);
  }

  // Remove twice.
  REQUIRE(fx.remove(c1).ok());
  {
    const auto status = fx.remove(c1);
    INFO(describe(status));
    CHECK(status.ok());
  }
  CHECK(fx.container_status(c1).code() == grpc::StatusCode::NOT_FOUND);
  // Its name is free again (kubelet reuses names with a new attempt, crictl users with the same).
  {
    const auto again = fx.create_container(pod_id, fx.container_config("c1", {"sleep", "3600"}), pod);
    INFO(describe(again.status));
    REQUIRE(again.ok());
    CHECK(again.value != c1);
    REQUIRE(fx.remove(again.value).ok());
  }

  // Removing a running container kills it and deletes its instance.
  {
    const auto status = fx.remove(c2);
    INFO(describe(status));
    REQUIRE(status.ok());
  }
  CHECK(fx.container_status(c2).code() == grpc::StatusCode::NOT_FOUND);
  CHECK(fx.settles([&] { return fx.lxd_instances().size() == 2; }));  // the holder and c3

  // The pod: stop twice, remove twice.
  REQUIRE(fx.stop_pod(pod_id).ok());
  {
    const auto status = fx.stop_pod(pod_id);
    INFO(describe(status));
    CHECK(status.ok());
    CHECK(fx.pod_status(pod_id).value.status().state() == cri::SANDBOX_NOTREADY);
  }
  REQUIRE(fx.remove_pod(pod_id).ok());
  {
    const auto status = fx.remove_pod(pod_id);
    INFO(describe(status));
    CHECK(status.ok());
    const auto stop_after = fx.stop_pod(pod_id);
    INFO(describe(stop_after));
    CHECK(stop_after.ok());
  }
  CHECK(fx.pod_status(pod_id).code() == grpc::StatusCode::NOT_FOUND);
  CHECK(fx.container_status(c3).code() == grpc::StatusCode::NOT_FOUND);
  fx.remove_all_pods_and_expect_clean();
}

TEST_CASE("lifecycle: RemovePodSandbox of a ready pod removes its running container too", "[lifecycle][lxd]") {
  CriFixture fx("rmpod");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string c = fx.must_run_container(pod_id, fx.container_config("c", {"sleep", "3600"}), pod);
  REQUIRE(fx.lxd_instances().size() == 2);

  {
    const auto status = fx.remove_pod(pod_id);  // no StopPodSandbox first
    INFO(describe(status));
    REQUIRE(status.ok());
  }
  CHECK(fx.pod_status(pod_id).code() == grpc::StatusCode::NOT_FOUND);
  CHECK(fx.container_status(c).code() == grpc::StatusCode::NOT_FOUND);
  CHECK(fx.list_pods().empty());
  CHECK(fx.list_containers().empty());
  fx.expect_lxd_clean();

  // Once removed, the same pod (same metadata) may run again.
  {
    const auto again = fx.run_pod(pod);
    INFO(describe(again.status));
    REQUIRE(again.ok());
    CHECK(again.value != pod_id);
    CHECK(fx.pod_status(again.value).value.status().state() == cri::SANDBOX_READY);
  }
  fx.remove_all_pods_and_expect_clean();
}
