#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "reconcile/reconciler.h"

namespace lxe::cri {

// Removes a container, killing it first if it runs (as CRI asks). Answers once its processes are
// gone (removed for CRI, store/records.h): the reconciler deletes the LXD instance afterwards, once
// LXD has torn it down, off the caller's path. Idempotent: unknown is fine.
::grpc::Status RuntimeService::RemoveContainer(::grpc::ServerContext* context,
                                               const v1::RemoveContainerRequest* request,
                                               v1::RemoveContainerResponse*) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::ContainerRecord> found;
    if (auto status = find_container(request->container_id(), found); !status.ok())
      return status.error_code() == ::grpc::StatusCode::NOT_FOUND ? ::grpc::Status::OK : status;
    const std::string id = found->id;
    std::vector<WaitTarget> targets;
    auto status = record("RemoveContainer", [&](store::Registry::Change& change, std::vector<WaitTarget>& waits) -> ::grpc::Status {
      auto c = change.container(id);
      if (!c) return ::grpc::Status::OK;
      if (c->desired_state != store::ContainerState::Removed) {
        c->desired_state = store::ContainerState::Removed;
        c->new_generation();
      } else {
        c->clear_failure();  // an earlier failure is not this call's: let the reconciler report afresh
      }
      change.put(*c);
      // An exited container is removed for CRI with this commit; a running one once it is killed.
      if (!store::removed_for_cri(*c)) waits.push_back({store::ObjectKind::Container, id, c->generation});
      return ::grpc::Status::OK;
    }, targets);
    if (!status.ok()) return status;
    return status_of("RemoveContainer", wait(context, targets), "LXD did not remove it in time");
  });
}

}  // namespace lxe::cri
