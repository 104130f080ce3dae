#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "reconcile/reconciler.h"

namespace lxe::cri {

// Removes the pod with all its containers (running ones are killed, as CRI asks). Answers once the
// pod is removed for CRI (store/records.h: its containers' processes and its holder gone, its
// network torn down); the reconciler deletes the LXD instances and the profile afterwards, off the
// caller's path. Idempotent: an unknown sandbox is fine.
::grpc::Status RuntimeService::RemovePodSandbox(::grpc::ServerContext* context,
                                                const v1::RemovePodSandboxRequest* request,
                                                v1::RemovePodSandboxResponse*) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::SandboxRecord> sandbox;
    if (auto status = find_sandbox(request->pod_sandbox_id(), sandbox); !status.ok())
      return status.error_code() == ::grpc::StatusCode::NOT_FOUND ? ::grpc::Status::OK : status;
    const std::string id = sandbox->id;
    std::vector<WaitTarget> targets;
    auto status = record("RemovePodSandbox", [&](store::Registry::Change& change,
                                                 std::vector<WaitTarget>& waits) -> ::grpc::Status {
      auto s = change.sandbox(id);
      if (!s) return ::grpc::Status::OK;
      // An earlier failure (say, of the RunPodSandbox this removal cleans up after) is not this
      // call's: clear it and let the reconciler report afresh.
      if (s->desired_state != store::SandboxState::Removed) {
        s->desired_state = store::SandboxState::Removed;
        s->new_generation();
      } else {
        s->clear_failure();
      }
      change.put(*s);
      // Containers first: the reconciler removes the sandbox's objects once its containers are gone.
      for (auto c : change.containers_of(id)) {
        if (c.desired_state != store::ContainerState::Removed) {
          c.desired_state = store::ContainerState::Removed;
          c.new_generation();
        } else {
          c.clear_failure();
        }
        change.put(c);
        if (!store::removed_for_cri(c)) waits.push_back({store::ObjectKind::Container, c.id, c.generation});
      }
      waits.push_back({store::ObjectKind::Sandbox, id, s->generation});
      return ::grpc::Status::OK;
    }, targets);
    if (!status.ok()) return status;
    return status_of("RemovePodSandbox", wait(context, targets), "LXD did not remove the pod in time");
  });
}

}  // namespace lxe::cri
