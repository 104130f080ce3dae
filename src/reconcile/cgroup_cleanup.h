// Processes a stopped container leaves behind. A container that shares a PID namespace it does not
// own (its pod's, or the host's) is not emptied by the kernel when its init dies: LXC kills only
// the init on a forced stop, and the rest is reparented to the namespace's PID 1 and keeps
// running in the instance's cgroup. After each stop lxe kills whatever is left in that cgroup.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace lxe::reconcile {

// SIGKILLs every process left in the cgroup of LXD instance `instance` (lxc.payload.<instance>
// under `cgroup_root`, in the unified hierarchy or in each v1 hierarchy), until none is left, then
// removes the emptied cgroup folders LXC could not. Returns how many processes it killed; 0 when
// the instance has no cgroup (the normal case after a stop). Never throws.
int kill_cgroup_leftovers(const std::string& instance, const std::string& cgroup_root = "/sys/fs/cgroup");

// How lxe stops a running instance without LXD's stop call, which returns only after LXD's whole
// teardown (~0.75 s on this host, most of it after the processes are dead): SIGKILLs every process
// in the instance's cgroup except `spare` (0: none), until no other is left, and leaves the
// folders to LXC. LXD then sees the instance stop and tears it down by itself, off the caller's
// path. Returns how many signals
// it sent; nullopt when the instance has no cgroup (not running, or a layout lxe does not know:
// the caller stops it through LXD then). Never throws.
std::optional<int> kill_cgroup_processes(const std::string& instance, pid_t spare = 0,
                                         const std::string& cgroup_root = "/sys/fs/cgroup");

// Whether instance `instance` has a cgroup under `cgroup_root` (in any hierarchy): LXC made it
// when the instance started and removes it at the end of LXD's teardown. Never throws.
bool has_cgroup(const std::string& instance, const std::string& cgroup_root = "/sys/fs/cgroup");

// The host PID of the instance's init, read from its cgroup: the one process in the instance's own
// cgroup (not nested ones) that is PID 1 of its PID namespace (the last NSpid of
// `<proc_root>/<pid>/status`). What LXD's /state call says, without it: that call takes ~120-170 ms
// on this LXD right after a start. nullopt when there is no cgroup, or no such process, or more
// than one (an instance that shares a PID namespace it does not own: ask LXD then). Never throws.
std::optional<pid_t> cgroup_init_pid(const std::string& instance, const std::string& cgroup_root = "/sys/fs/cgroup",
                                     const std::string& proc_root = "/proc");

}  // namespace lxe::reconcile
