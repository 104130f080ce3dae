#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "reconcile/errors.h"
#include "reconcile/reconciler.h"

namespace lxe::cri {

// Removes a container, killing it first if it runs (as CRI asks). Idempotent: unknown is fine.
::grpc::Status RuntimeService::RemoveContainer(::grpc::ServerContext* context,
                                               const v1::RemoveContainerRequest* request,
                                               v1::RemoveContainerResponse*) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::ContainerRecord> found;
    if (auto status = find_container(request->container_id(), found); !status.ok())
      return status.error_code() == ::grpc::StatusCode::NOT_FOUND ? ::grpc::Status::OK : status;
    const std::string id = found->id;
    {
      store::Registry::Change change(ctx_.registry);
      auto c = change.container(id);
      if (!c) return ::grpc::Status::OK;
      if (c->desired_state != store::ContainerState::Removed) {
        c->desired_state = store::ContainerState::Removed;
        c->generation += 1;
      }
      c->last_error.clear();  // an earlier failure is not this call's
      change.put(*c);
      change.commit();
    }
    ctx_.crash_points.hit("store-written:RemoveContainer");
    ctx_.reconciler.enqueue_container(id);
    std::string error;
    const bool gone = wait_for(context, [&](const store::Registry::View& view) {
      const auto* c = view.container(id);
      if (!c) return true;
      error = reconcile::is_transient_error(c->last_error) ? "" : c->last_error;
      return !error.empty();
    });
    if (!error.empty()) return reconcile_failure("RemoveContainer", error);
    if (!gone) return {::grpc::StatusCode::DEADLINE_EXCEEDED, "RemoveContainer: LXD did not remove it in time"};
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
