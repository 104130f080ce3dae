// GetContainerEvents: a stream that reports a container's created, started, stopped and deleted
// transitions, each with the pod's status.
#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

#include "support/cri_fixture.h"

namespace v1 = ::runtime::v1;

TEST_CASE("GetContainerEvents streams created, started, stopped and deleted", "[lxd][events]") {
  lxe::test::CriFixture fx("events");
  const auto pod = fx.pod_config("p");
  const std::string pod_id = fx.must_run_pod(pod);

  grpc::ClientContext stream_context;
  auto stream = fx.runtime().GetContainerEvents(&stream_context, v1::GetEventsRequest());
  std::mutex mutex;
  std::vector<v1::ContainerEventResponse> events;
  std::thread reader([&] {
    v1::ContainerEventResponse event;
    while (stream->Read(&event)) {
      std::lock_guard lock(mutex);
      events.push_back(event);
    }
  });
  // The subscription exists once the server has the call; give it a moment before acting.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  const std::string id = fx.must_run_container(pod_id, fx.container_config("c", {"sleep", "3600"}), pod);
  REQUIRE(fx.stop(id, 0).ok());
  REQUIRE(fx.remove(id).ok());

  auto types_for_container = [&] {
    std::lock_guard lock(mutex);
    std::vector<v1::ContainerEventType> types;
    for (const auto& e : events)
      if (e.container_id() == id) types.push_back(e.container_event_type());
    return types;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (types_for_container().size() < 4 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stream_context.TryCancel();
  reader.join();

  CHECK(types_for_container() == std::vector<v1::ContainerEventType>{
                                     v1::CONTAINER_CREATED_EVENT, v1::CONTAINER_STARTED_EVENT,
                                     v1::CONTAINER_STOPPED_EVENT, v1::CONTAINER_DELETED_EVENT});
  {
    std::lock_guard lock(mutex);
    for (const auto& e : events) {
      if (e.container_id() != id) continue;
      CHECK(e.pod_sandbox_status().id() == pod_id);
      CHECK(e.created_at() > 0);
    }
  }
  fx.remove_all_pods_and_expect_clean();
}
