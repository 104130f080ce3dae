// ExecSync when LXD refuses the exec: a container that stopped after lxe last saw it run (kubelet
// goes on running readiness probes while it stops a pod) is FAILED_PRECONDITION, not the caller's
// INVALID_ARGUMENT. The store must say "running" while LXD says "stopped": real LXD cannot be made
// to hold that window open on demand, so the RuntimeService runs in this process against a fake
// LXD, with a reconciler that is never started.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "support/in_process_runtime.h"

namespace v1 = runtime::v1;
using lxe::test::FakeLxd;
using lxe::test::InProcessRuntime;
using nlohmann::json;

namespace {

json instance(const std::string& status, int status_code) {
  return json{{"name", InProcessRuntime::kContainerInstance}, {"status", status}, {"status_code", status_code},
              {"type", "container"}, {"config", json::object()}, {"devices", json::object()},
              {"profiles", json::array()}};
}

grpc::Status exec(InProcessRuntime& rt) {
  v1::ExecSyncRequest request;
  request.set_container_id(rt.container_id);
  request.add_cmd("true");
  request.set_timeout(5);
  v1::ExecSyncResponse response;
  return rt.service.ExecSync(nullptr, &request, &response);
}

const std::string kInstancePath = std::string("/1.0/instances/") + InProcessRuntime::kContainerInstance;

}  // namespace

TEST_CASE("ExecSync: LXD refuses the exec of an instance that has stopped -> FAILED_PRECONDITION", "[exec]") {
  InProcessRuntime rt;
  const std::string& base = kInstancePath;
  rt.lxd.on("POST", base + "/exec",
            [](const auto&, auto& res) { FakeLxd::reply_error(res, 400, "Instance is not running"); });
  rt.lxd.on("GET", base, [](const auto&, auto& res) { FakeLxd::reply_sync(res, instance("Stopped", 102)); });

  const auto status = exec(rt);
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(status.error_message(), Catch::Contains(rt.container_id) && Catch::Contains("is not running"));
  // The record is the reconciler's to change, not the exec's.
  CHECK(rt.registry.container(rt.container_id)->observed_state == lxe::store::ContainerObserved::Running);
}

TEST_CASE("ExecSync: a bad request for a running instance stays LXD's INVALID_ARGUMENT", "[exec]") {
  InProcessRuntime rt;
  const std::string& base = kInstancePath;
  rt.lxd.on("POST", base + "/exec",
            [](const auto&, auto& res) { FakeLxd::reply_error(res, 400, "Some other refusal"); });
  rt.lxd.on("GET", base, [](const auto&, auto& res) { FakeLxd::reply_sync(res, instance("Running", 103)); });

  const auto status = exec(rt);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::Contains("Some other refusal"));
}
