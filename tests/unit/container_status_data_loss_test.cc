// ContainerStatus of a record whose stored JSON cannot be read: DATA_LOSS naming the container,
// never a status with the unreadable parts silently empty (no mounts, no resources). A store
// corrupted by hand cannot be made through CRI: in process, over a fake LXD never asked anything.
#include <catch2/catch.hpp>

#include "support/in_process_runtime.h"

namespace v1 = runtime::v1;
using lxe::test::InProcessRuntime;

namespace {

grpc::Status status_of(InProcessRuntime& rt, v1::ContainerStatusResponse& response) {
  v1::ContainerStatusRequest request;
  request.set_container_id(rt.container_id);
  return rt.service.ContainerStatus(nullptr, &request, &response);
}

void corrupt(InProcessRuntime& rt, const std::string& config_json, const std::string& resources_json) {
  lxe::store::Registry::Change change(rt.registry);
  auto c = change.container(rt.container_id);
  c->config_json = config_json;
  c->resources_json = resources_json;
  change.put(*c);
  change.commit();
}

}  // namespace

TEST_CASE("ContainerStatus: a stored config or resources that cannot be read -> DATA_LOSS naming the container",
          "[status]") {
  InProcessRuntime rt;
  v1::ContainerStatusResponse response;
  REQUIRE(status_of(rt, response).ok());  // the record as stored by the fixture reads fine

  SECTION("config that is not JSON") { corrupt(rt, "{not json", "{}"); }
  SECTION("mounts that are not a list") { corrupt(rt, R"({"mounts": {"host_path": "/x"}})", "{}"); }
  SECTION("a mount that protobuf cannot read") {
    corrupt(rt, R"({"mounts": [{"readonly": "perhaps"}]})", "{}");
  }
  SECTION("resources that cannot be read") {
    corrupt(rt, R"({"metadata":{"name":"app"}})", R"({"memory_limit_in_bytes": "lots"})");
  }
  const auto status = status_of(rt, response);
  CHECK(status.error_code() == grpc::StatusCode::DATA_LOSS);
  CHECK_THAT(status.error_message(), Catch::Contains(rt.container_id) && Catch::Contains("cannot be read") ||
                                         Catch::Contains(rt.container_id) && Catch::Contains("not a"));
}
