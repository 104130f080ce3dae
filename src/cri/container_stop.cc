#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "reconcile/reconciler.h"

namespace lxe::cri {

// Graceful stop for `timeout` seconds (lxe-init passes the stop signal to the command), then
// forced. Idempotent: unknown, created or exited containers are fine.
::grpc::Status RuntimeService::StopContainer(::grpc::ServerContext* context, const v1::StopContainerRequest* request,
                                             v1::StopContainerResponse*) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::ContainerRecord> found;
    if (auto status = find_container(request->container_id(), found); !status.ok())
      return status.error_code() == ::grpc::StatusCode::NOT_FOUND ? ::grpc::Status::OK : status;
    if (request->timeout() < 0) return invalid("StopContainer: timeout must not be negative");
    const std::string id = found->id;
    std::vector<WaitTarget> targets;
    auto status = record("StopContainer", [&](store::Registry::Change& change, std::vector<WaitTarget>& waits) -> ::grpc::Status {
      auto c = change.container(id);
      if (!c) return ::grpc::Status::OK;
      if (c->desired_state == store::ContainerState::Running) {
        c->desired_state = store::ContainerState::Exited;
        c->stop_timeout = request->timeout();
        c->new_generation();
        change.put(*c);
        waits.push_back({store::ObjectKind::Container, id, c->generation});
      } else if (c->desired_state == store::ContainerState::Exited && c->observed_generation < c->generation) {
        // A stop recorded earlier has not been carried out yet (kubelet retries when its first
        // call ran out of time, or LXD was busy): this call, too, returns when the container has
        // stopped, or with the error that prevents it.
        waits.push_back({store::ObjectKind::Container, id, c->generation});
      }
      // Otherwise created, exited, or being removed: nothing to stop.
      return ::grpc::Status::OK;
    }, targets);
    if (!status.ok()) return status;
    return status_of("StopContainer", wait(context, targets), "LXD did not stop it in time");
  });
}

}  // namespace lxe::cri
