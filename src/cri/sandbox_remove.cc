#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "reconcile/errors.h"
#include "reconcile/reconciler.h"

namespace lxe::cri {

// Removes the pod with all its containers (running ones are killed, as CRI asks). Idempotent: an
// unknown sandbox is fine.
::grpc::Status RuntimeService::RemovePodSandbox(::grpc::ServerContext* context,
                                                const v1::RemovePodSandboxRequest* request,
                                                v1::RemovePodSandboxResponse*) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::SandboxRecord> sandbox;
    if (auto status = find_sandbox(request->pod_sandbox_id(), sandbox); !status.ok())
      return status.error_code() == ::grpc::StatusCode::NOT_FOUND ? ::grpc::Status::OK : status;
    const std::string id = sandbox->id;
    std::vector<std::string> container_ids;
    {
      store::Registry::Change change(ctx_.registry);
      auto s = change.sandbox(id);
      if (!s) return ::grpc::Status::OK;
      // An earlier failure (say, of the RunPodSandbox this removal cleans up after) is not this
      // call's: clear it and let the reconciler report afresh.
      if (s->desired_state != store::SandboxState::Removed) {
        s->desired_state = store::SandboxState::Removed;
        s->generation += 1;
      }
      s->last_error.clear();
      change.put(*s);
      for (auto c : change.containers_of(id)) {
        container_ids.push_back(c.id);
        if (c.desired_state != store::ContainerState::Removed) {
          c.desired_state = store::ContainerState::Removed;
          c.generation += 1;
        }
        c.last_error.clear();
        change.put(c);
      }
      change.commit();
    }
    ctx_.crash_points.hit("store-written:RemovePodSandbox");
    for (const auto& c : container_ids) ctx_.reconciler.enqueue_container(c);
    ctx_.reconciler.enqueue_sandbox(id);

    std::string error;
    const bool done = wait_for(context, [&](const store::Registry::View& view) {
      const auto* s = view.sandbox(id);
      if (!s) return true;
      // Transient refusals (LXD busy for a moment) are retried by the reconciler: keep waiting.
      if (!s->last_error.empty() && !reconcile::is_transient_error(s->last_error)) error = s->last_error;
      for (const auto* c : view.containers_of(id))
        if (!c->last_error.empty() && !reconcile::is_transient_error(c->last_error)) error = c->last_error;
      return !error.empty();
    });
    if (!error.empty()) return reconcile_failure("RemovePodSandbox", error);
    if (!done) return {::grpc::StatusCode::DEADLINE_EXCEEDED, "RemovePodSandbox: LXD did not remove the pod in time"};
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
