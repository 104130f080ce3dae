#include "common/time.h"
#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "reconcile/reconciler.h"

namespace lxe::cri {

::grpc::Status RuntimeService::StartContainer(::grpc::ServerContext* context, const v1::StartContainerRequest* request,
                                              v1::StartContainerResponse*) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::ContainerRecord> found;
    if (auto status = find_container(request->container_id(), found); !status.ok()) return status;
    const std::string id = found->id;
    std::vector<WaitTarget> targets;
    auto status = record("StartContainer", [&](store::Registry::Change& change, std::vector<WaitTarget>& waits) -> ::grpc::Status {
      auto c = change.container(id);
      if (!c) return not_found("container " + request->container_id() + " not found");
      if (c->desired_state == store::ContainerState::Removed)
        return failed_precondition("StartContainer: container " + id + " is being removed");
      if (c->started_at != 0 || c->desired_state != store::ContainerState::Created)
        return failed_precondition("StartContainer: container " + id +
                                   " was already started; CRI containers start once (create a new one)");
      const auto sandbox = change.sandbox(c->sandbox_id);
      if (!sandbox || sandbox->desired_state != store::SandboxState::Ready ||
          sandbox->observed_state != store::SandboxObserved::Ready)
        return failed_precondition("StartContainer: pod sandbox " + c->sandbox_id + " of container " + id +
                                   " is not ready (stopped or being removed)");
      c->desired_state = store::ContainerState::Running;
      c->new_generation();
      change.put(*c);
      waits.push_back({store::ObjectKind::Container, id, c->generation});
      return ::grpc::Status::OK;
    }, targets);
    if (!status.ok()) return status;

    const WaitResult waited = wait(context, targets);
    if (!waited.reached()) {
      // The start failed: the container ends as EXITED with StartError, as in containerd; kubelet
      // makes a new one.
      store::Registry::Change change(ctx_.registry);
      if (auto c = change.container(id); c && c->started_at == 0) {
        c->desired_state = store::ContainerState::Exited;
        c->observed_state = store::ContainerObserved::Exited;
        c->new_generation();
        c->exit_code = 128;
        c->reason = "StartError";
        c->message = waited.failure.message.empty() ? "start timed out" : waited.failure.message;
        c->finished_at = now_ns();
        change.put(*c);
        change.commit();
      }
      ctx_.reconciler.enqueue_container(id);
    }
    return status_of("StartContainer", waited, "LXD did not start it in time");
  });
}

}  // namespace lxe::cri
