// Processes a stopped container leaves behind. A container that shares a PID namespace it does not
// own (its pod's, or the host's) is not emptied by the kernel when its init dies: LXC kills only
// the init on a forced stop, and the rest is reparented to the namespace's PID 1 and keeps
// running in the instance's cgroup. After each stop lxe kills whatever is left in that cgroup.
#pragma once

#include <string>

namespace lxe::reconcile {

// SIGKILLs every process left in the cgroup of LXD instance `instance` (lxc.payload.<instance>
// under `cgroup_root`, in the unified hierarchy or in each v1 hierarchy), until none is left, then
// removes the emptied cgroup folders LXC could not. Returns how many processes it killed; 0 when
// the instance has no cgroup (the normal case after a stop). Never throws.
int kill_cgroup_leftovers(const std::string& instance, const std::string& cgroup_root = "/sys/fs/cgroup");

}  // namespace lxe::reconcile
