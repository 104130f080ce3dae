#include <google/protobuf/util/json_util.h>

#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "cri/validation.h"
#include "model/stored_config.h"
#include "reconcile/lxd_specs.h"
#include "reconcile/reconciler.h"

namespace lxe::cri {

// In-place pod resize (CRI v1.32). LXD has no cgroup for a pod, so the pod's resources become a
// ceiling on each of its containers (reconcile::effective_resources), applied live through the
// containers' limits.* keys like UpdateContainerResources: nothing restarts. Records the pod's new
// resources and, in the same transaction, a new generation for every container they reach; returns
// when the reconciler has applied them to all of those.
::grpc::Status RuntimeService::UpdatePodSandboxResources(::grpc::ServerContext* context,
                                                         const v1::UpdatePodSandboxResourcesRequest* request,
                                                         v1::UpdatePodSandboxResourcesResponse*) {
  return guarded([&]() -> ::grpc::Status {
    if (auto problem = update_pod_resources_problem(*request); !problem.empty())
      return invalid("UpdatePodSandboxResources: " + problem);
    std::optional<store::SandboxRecord> found;
    if (auto status = find_sandbox(request->pod_sandbox_id(), found); !status.ok()) return status;
    const std::string id = found->id;
    std::vector<WaitTarget> targets;
    auto status = record("UpdatePodSandboxResources", [&](store::Registry::Change& change,
                                                          std::vector<WaitTarget>& waits) -> ::grpc::Status {
      auto s = change.sandbox(id);
      if (!s) return not_found("pod sandbox " + request->pod_sandbox_id() + " not found");
      if (s->desired_state != store::SandboxState::Ready || s->observed_state != store::SandboxObserved::Ready)
        return failed_precondition("UpdatePodSandboxResources: pod sandbox " + id + " is not ready");
      v1::LinuxContainerResources current;
      try {
        current = reconcile::resources_from_json(s->resources_json);
      } catch (const std::exception& e) {
        // lxe's own data gone bad: merging into an empty value would drop the ceiling in force.
        return {::grpc::StatusCode::DATA_LOSS, "UpdatePodSandboxResources: pod sandbox " + id + ": " + e.what() +
                                                   "; nothing was changed"};
      }
      const v1::LinuxContainerResources merged = merged_resources(current, request->resources());
      if (auto problem = live_update_problem(current, merged); !problem.empty())
        return failed_precondition("UpdatePodSandboxResources: " + problem);
      s->resources_json = model::to_json(merged);
      s->new_generation();
      change.put(*s);
      // The containers that run or will: their limits are recomputed under the new ceiling. An
      // exited container keeps what it had; kubelet makes a new one.
      for (auto c : change.containers_of(id)) {
        if (c.desired_state == store::ContainerState::Removed || c.desired_state == store::ContainerState::Exited ||
            c.observed_state == store::ContainerObserved::Exited)
          continue;
        c.new_generation();
        change.put(c);
        waits.push_back({store::ObjectKind::Container, c.id, c.generation});
      }
      waits.push_back({store::ObjectKind::Sandbox, id, s->generation});
      return ::grpc::Status::OK;
    }, targets);
    if (!status.ok()) return status;
    return status_of("UpdatePodSandboxResources", wait(context, targets), "LXD did not apply them in time");
  });
}

}  // namespace lxe::cri
