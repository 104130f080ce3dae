#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "reconcile/reconciler.h"

namespace lxe::cri {

// Stops every container of the pod (forcibly, as CRI asks) and the pod's namespace holder.
// Idempotent: an unknown or already stopped sandbox is fine.
::grpc::Status RuntimeService::StopPodSandbox(::grpc::ServerContext* context, const v1::StopPodSandboxRequest* request,
                                              v1::StopPodSandboxResponse*) {
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
      if (s->desired_state == store::SandboxState::Ready) {
        s->desired_state = store::SandboxState::NotReady;
        s->generation += 1;
        s->last_error.clear();
        change.put(*s);
      }
      for (auto c : change.containers_of(id)) {
        container_ids.push_back(c.id);
        if (c.desired_state == store::ContainerState::Running) {
          c.desired_state = store::ContainerState::Exited;
          c.stop_timeout = 0;
          c.generation += 1;
          c.last_error.clear();
          change.put(c);
        }
      }
      change.commit();
    }
    ctx_.crash_points.hit("store-written:StopPodSandbox");
    ctx_.reconciler.enqueue_sandbox(id);
    for (const auto& c : container_ids) ctx_.reconciler.enqueue_container(c);

    std::string error;
    const bool done = wait_for(context, [&](const store::Registry::View& view) {
      const auto* s = view.sandbox(id);
      if (!s) return true;
      if (!s->last_error.empty()) return !(error = s->last_error).empty();
      if (s->observed_generation < s->generation) return false;
      for (const auto* c : view.containers_of(id)) {
        if (!c->last_error.empty()) return !(error = c->last_error).empty();
        if (c->observed_generation < c->generation) return false;
      }
      return true;
    });
    if (!error.empty()) return reconcile_failure("StopPodSandbox", error);
    if (!done) return {::grpc::StatusCode::DEADLINE_EXCEEDED, "StopPodSandbox: LXD did not stop the pod in time"};
    return ::grpc::Status::OK;
  });
}

}  // namespace lxe::cri
