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
    int64_t generation = 0;
    bool recorded = false;  // this call recorded the stop (rather than joining one in progress)
    {
      store::Registry::Change change(ctx_.registry);
      auto c = change.container(id);
      if (!c) return ::grpc::Status::OK;
      if (c->desired_state == store::ContainerState::Running) {
        c->desired_state = store::ContainerState::Exited;
        c->stop_timeout = request->timeout();
        c->generation += 1;
        c->last_error.clear();
        generation = c->generation;
        change.put(*c);
        change.commit();
        recorded = true;
      } else if (c->desired_state == store::ContainerState::Exited &&
                 c->observed_generation < c->generation) {
        // A stop recorded earlier has not been carried out yet (kubelet retries when its first
        // call ran out of time, or LXD was busy): this call, too, returns when the container has
        // stopped, or with the error that prevents it.
        generation = c->generation;
      } else {
        return ::grpc::Status::OK;  // created, exited, or being removed: nothing to stop
      }
    }
    if (recorded) ctx_.crash_points.hit("store-written:StopContainer");
    ctx_.reconciler.enqueue_container(id);
    std::string error;
    const bool reached = wait_for_container(context, id, generation, error);
    if (!error.empty()) return reconcile_failure("StopContainer", error);
    if (!reached) return {::grpc::StatusCode::DEADLINE_EXCEEDED, "StopContainer: LXD did not stop it in time"};
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
