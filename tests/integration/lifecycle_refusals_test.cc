// The CRI state machine: calls that make no sense in an object's current state are refused with
// FAILED_PRECONDITION, and change nothing.
#include <catch2/catch.hpp>

#include "support/cri_fixture.h"

using lxe::test::CriFixture;
using lxe::test::describe;
namespace cri = ::runtime::v1;

TEST_CASE("lifecycle: calls out of order are refused with FAILED_PRECONDITION", "[lifecycle][lxd]") {
  CriFixture fx("refuse");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);
  const std::string created = fx.must_create_container(pod_id, fx.container_config("created", {"sleep", "3600"}, "created.log"), pod);
  const std::string running = fx.must_run_container(pod_id, fx.container_config("running", {"sleep", "3600"}, "running.log"), pod);

  // A created container has nothing to exec into and no log being written.
  {
    const auto r = fx.exec(created, {"true"});
    INFO(describe(r.status));
    CHECK(r.code() == grpc::StatusCode::FAILED_PRECONDITION);
    const auto reopen = fx.reopen_log(created);
    INFO(describe(reopen));
    CHECK(reopen.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  }
  // A pod without a hostname of its own is named after the pod.
  {
    const auto r = fx.exec(running, {"hostname"});
    INFO(describe(r.status));
    REQUIRE(r.ok());
    CHECK(r.value.stdout() == pod.metadata().name() + "\n");
  }
  // CRI containers start once.
  {
    const auto again = fx.start(running);
    INFO(describe(again));
    CHECK(again.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(fx.container_status(running).value.state() == cri::CONTAINER_RUNNING);
  }
  // An exited container: no exec, no log reopen, no second start.
  REQUIRE(fx.stop(running, 0).ok());
  {
    const auto st = fx.container_status(running);
    REQUIRE(st.ok());
    CHECK(st.value.state() == cri::CONTAINER_EXITED);
    // A forced stop leaves no exit record: the code of a SIGKILL.
    CHECK(st.value.exit_code() == 137);
    CHECK(st.value.reason() == "Error");
    const auto r = fx.exec(running, {"true"});
    INFO(describe(r.status));
    CHECK(r.code() == grpc::StatusCode::FAILED_PRECONDITION);
    const auto reopen = fx.reopen_log(running);
    INFO(describe(reopen));
    CHECK(reopen.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    const auto again = fx.start(running);
    INFO(describe(again));
    CHECK(again.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(fx.container_status(running).value.state() == cri::CONTAINER_EXITED);
  }

  // A stopped sandbox takes no new containers and starts none of its created ones.
  REQUIRE(fx.stop_pod(pod_id).ok());
  REQUIRE(fx.pod_status(pod_id).value.status().state() == cri::SANDBOX_NOTREADY);
  const auto instances_before = fx.lxd_instances();
  {
    const auto start = fx.start(created);
    INFO(describe(start));
    CHECK(start.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(fx.container_status(created).value.state() == cri::CONTAINER_CREATED);
  }
  {
    const auto before = fx.list_containers().size();
    const auto reply = fx.create_container(pod_id, fx.container_config("late", {"sleep", "3600"}), pod);
    INFO(describe(reply.status));
    CHECK(reply.code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(reply.value.empty());
    CHECK(fx.list_containers().size() == before);
  }
  CHECK(fx.lxd_instances() == instances_before);

  fx.remove_all_pods_and_expect_clean();
}
