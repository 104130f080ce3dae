#include <google/protobuf/util/json_util.h>

#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "cri/validation.h"
#include "model/stored_config.h"
#include "reconcile/lxd_specs.h"
#include "reconcile/reconciler.h"

namespace lxe::cri {

// Records the new resources as desired state and waits until the reconciler applied them to the
// container through LXD's live limits.* keys: the container keeps running, same init PID.
::grpc::Status RuntimeService::UpdateContainerResources(::grpc::ServerContext* context,
                                                        const v1::UpdateContainerResourcesRequest* request,
                                                        v1::UpdateContainerResourcesResponse*) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::ContainerRecord> found;
    if (auto status = find_container(request->container_id(), found); !status.ok()) return status;
    if (auto problem = update_resources_problem(*request); !problem.empty())
      return invalid("UpdateContainerResources: " + problem);
    const std::string id = found->id;
    std::vector<WaitTarget> targets;
    auto status = record("UpdateContainerResources", [&](store::Registry::Change& change,
                                                         std::vector<WaitTarget>& waits) -> ::grpc::Status {
      auto c = change.container(id);
      if (!c) return not_found("container " + request->container_id() + " not found");
      if (c->desired_state == store::ContainerState::Removed || c->observed_state == store::ContainerObserved::Exited ||
          c->desired_state == store::ContainerState::Exited)
        return failed_precondition("UpdateContainerResources: container " + id + " is not running or created");
      v1::LinuxContainerResources current;
      google::protobuf::util::JsonParseOptions options;
      options.ignore_unknown_fields = true;
      // Unreadable stored resources are lxe's own data gone bad: merging into an empty value would
      // silently drop the limits in force.
      if (const auto parsed = google::protobuf::util::JsonStringToMessage(c->resources_json, &current, options);
          !parsed.ok())
        return {::grpc::StatusCode::DATA_LOSS, "UpdateContainerResources: container " + id +
                                                   ": its stored resources cannot be read (" + parsed.ToString() +
                                                   "); nothing was changed"};
      const v1::LinuxContainerResources merged = merged_resources(current, request->linux());
      if (auto problem = live_update_problem(current, merged); !problem.empty())
        return failed_precondition("UpdateContainerResources: " + problem);
      c->resources_json = model::to_json(merged);
      for (const auto& [k, v] : request->annotations()) c->annotations[k] = v;
      c->new_generation();
      change.put(*c);
      waits.push_back({store::ObjectKind::Container, id, c->generation});
      return ::grpc::Status::OK;
    }, targets);
    if (!status.ok()) return status;
    return status_of("UpdateContainerResources", wait(context, targets), "LXD did not apply them in time");
  });
}

}  // namespace lxe::cri
