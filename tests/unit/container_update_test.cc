// UpdateContainerResources over a stored record whose resources cannot be read: an error that
// names the container, and nothing changed (never a merge into an empty value, which would drop
// the limits in force). A store corrupted by hand cannot be made through CRI: in process, over a
// fake LXD that is never asked anything.
#include <catch2/catch.hpp>

#include "support/in_process_runtime.h"

namespace v1 = runtime::v1;
using lxe::test::InProcessRuntime;

TEST_CASE("UpdateContainerResources: stored resources that cannot be read -> DATA_LOSS naming the container",
          "[update]") {
  InProcessRuntime rt;
  {
    lxe::store::Registry::Change change(rt.registry);
    auto c = change.container(rt.container_id);
    c->resources_json = R"({"memory_limit_in_bytes": "not a number")";
    change.put(*c);
    change.commit();
  }
  const auto before = *rt.registry.container(rt.container_id);

  v1::UpdateContainerResourcesRequest request;
  request.set_container_id(rt.container_id);
  request.mutable_linux()->set_memory_limit_in_bytes(256 << 20);
  v1::UpdateContainerResourcesResponse response;
  const auto status = rt.service.UpdateContainerResources(nullptr, &request, &response);

  CHECK(status.error_code() == grpc::StatusCode::DATA_LOSS);
  CHECK_THAT(status.error_message(), Catch::Contains(rt.container_id) && Catch::Contains("cannot be read"));
  const auto after = *rt.registry.container(rt.container_id);
  CHECK(after.resources_json == before.resources_json);
  CHECK(after.generation == before.generation);
  for (const auto& r : rt.lxd.requests()) CHECK(r.path == "/1.0");  // the health check's, nothing else
}
