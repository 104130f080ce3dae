#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>

#include "cri/errors.h"
#include "cri/runtime_service.h"
#include "cri/validation.h"
#include "reconcile/lxd_specs.h"
#include "reconcile/reconciler.h"

namespace lxe::cri {

namespace {

// What LXD applies live through limits.*: memory, CPU quota/period/shares, cpuset. Anything else
// would need the container restarted (or LXD has no key for it), and lxe never restarts a
// container to apply a setting: such a change is refused, naming the field.
::grpc::Status check_live_applicable(const v1::LinuxContainerResources& current,
                                     const v1::LinuxContainerResources& wanted) {
  if (wanted.cpuset_mems() != current.cpuset_mems())
    return failed_precondition("UpdateContainerResources: cpuset_mems cannot change on a running container in "
                               "LXD (no live key); recreate the container to change it");
  if (wanted.oom_score_adj() != current.oom_score_adj())
    return failed_precondition("UpdateContainerResources: oom_score_adj applies only when the container starts; "
                               "recreate the container to change it");
  if (wanted.memory_swap_limit_in_bytes() != current.memory_swap_limit_in_bytes() &&
      wanted.memory_swap_limit_in_bytes() != 0)
    return failed_precondition("UpdateContainerResources: memory_swap_limit_in_bytes has no LXD equivalent "
                               "lxe can apply live");
  google::protobuf::util::MessageDifferencer same;
  if (wanted.hugepage_limits_size() != current.hugepage_limits_size() ||
      !std::equal(wanted.hugepage_limits().begin(), wanted.hugepage_limits().end(),
                  current.hugepage_limits().begin(),
                  [&](const auto& a, const auto& b) { return same.Equals(a, b); }))
    for (const auto& h : wanted.hugepage_limits())
      if (h.limit() != 0)
        return failed_precondition("UpdateContainerResources: hugepage limits cannot change on a running "
                                   "container in LXD; recreate the container to change them");
  if (wanted.unified_size() != 0 && !same.Equals(wanted, current))
    for (const auto& [key, value] : wanted.unified())
      if (current.unified().count(key) == 0 || current.unified().at(key) != value)
        return failed_precondition("UpdateContainerResources: unified cgroup setting '" + key +
                                   "' has no LXD key lxe can apply live");
  return ::grpc::Status::OK;
}

// The resources in force after an update: as containerd does, a field the request leaves at zero
// (or empty) keeps its current value. crictl update sends only the flags given; kubelet sends the
// whole set, so for it this is the same as a replacement.
v1::LinuxContainerResources merged_resources(const v1::LinuxContainerResources& current,
                                             const v1::LinuxContainerResources& wanted) {
  v1::LinuxContainerResources out = current;
  if (wanted.cpu_period() != 0) out.set_cpu_period(wanted.cpu_period());
  if (wanted.cpu_quota() != 0) out.set_cpu_quota(wanted.cpu_quota());
  if (wanted.cpu_shares() != 0) out.set_cpu_shares(wanted.cpu_shares());
  if (wanted.memory_limit_in_bytes() != 0) out.set_memory_limit_in_bytes(wanted.memory_limit_in_bytes());
  if (wanted.memory_swap_limit_in_bytes() != 0)
    out.set_memory_swap_limit_in_bytes(wanted.memory_swap_limit_in_bytes());
  if (wanted.oom_score_adj() != 0) out.set_oom_score_adj(wanted.oom_score_adj());
  if (!wanted.cpuset_cpus().empty()) out.set_cpuset_cpus(wanted.cpuset_cpus());
  if (!wanted.cpuset_mems().empty()) out.set_cpuset_mems(wanted.cpuset_mems());
  if (wanted.hugepage_limits_size() != 0) *out.mutable_hugepage_limits() = wanted.hugepage_limits();
  for (const auto& [key, value] : wanted.unified()) (*out.mutable_unified())[key] = value;
  return out;
}

}  // namespace

// Records the new resources as desired state and waits until the reconciler applied them to the
// container through LXD's live limits.* keys: the container keeps running, same init PID.
::grpc::Status RuntimeService::UpdateContainerResources(::grpc::ServerContext* context,
                                                        const v1::UpdateContainerResourcesRequest* request,
                                                        v1::UpdateContainerResourcesResponse*) {
  return guarded([&]() -> ::grpc::Status {
    std::optional<store::ContainerRecord> found;
    if (auto status = find_container(request->container_id(), found); !status.ok()) return status;
    if (!request->has_linux())
      return invalid("UpdateContainerResources: linux resources are missing (lxe runs Linux containers only)");
    if (auto problem = resources_problem(request->linux()); !problem.empty())
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
      if (auto status = check_live_applicable(current, merged); !status.ok()) return status;
      c->resources_json = reconcile::to_json(merged);
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
