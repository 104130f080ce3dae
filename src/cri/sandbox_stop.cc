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
    std::vector<WaitTarget> targets;
    auto status = record("StopPodSandbox", [&](store::Registry::Change& change,
                                               std::vector<WaitTarget>& waits) -> ::grpc::Status {
      auto s = change.sandbox(id);
      if (!s) return ::grpc::Status::OK;
      if (s->desired_state == store::SandboxState::Ready) {
        s->desired_state = store::SandboxState::NotReady;
        s->new_generation();
        change.put(*s);
      }
      // Every container, stopped now or earlier: the call returns when the whole pod has stopped.
      for (auto c : change.containers_of(id)) {
        if (c.desired_state == store::ContainerState::Running) {
          c.desired_state = store::ContainerState::Exited;
          c.stop_timeout = 0;
          c.new_generation();
          change.put(c);
        }
        waits.push_back({store::ObjectKind::Container, c.id, c.generation});
      }
      waits.push_back({store::ObjectKind::Sandbox, id, s->generation});
      return ::grpc::Status::OK;
    }, targets);
    if (!status.ok()) return status;
    return status_of("StopPodSandbox", wait(context, targets), "LXD did not stop the pod in time");
  });
}

}  // namespace lxe::cri
