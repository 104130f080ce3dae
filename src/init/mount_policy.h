// The mount side of a container's security context, as runc applies it: a read-only root, masked
// paths (a file hidden behind /dev/null, a directory behind an empty read-only tmpfs) and read-only
// paths. lxe-init applies it in the workload's own mount namespace, before it drops root; execs
// join that namespace, so they see the same.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace lxe::init {

struct MountPolicy {
  bool readonly_rootfs = false;
  std::vector<std::string> masked_paths;    // absolute; a missing one is skipped
  std::vector<std::string> readonly_paths;  // absolute; a missing one is skipped
  bool empty() const { return !readonly_rootfs && masked_paths.empty() && readonly_paths.empty(); }
};

// Enters a mount namespace of our own (unshare; the caller is the workload's child before exec).
// With `new_proc`, /proc is made private to it and a new proc is mounted there, showing the PID
// namespace we are in. Every other mount keeps its propagation (rshared and rslave volumes work).
std::optional<std::string> enter_own_mount_namespace(bool new_proc);

// Applies `policy` in the current mount namespace. The error as a sentence, if any.
std::optional<std::string> apply_mount_policy(const MountPolicy& policy);

}  // namespace lxe::init
