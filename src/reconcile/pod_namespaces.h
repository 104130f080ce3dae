// Which namespaces a pod's holder and its containers have, and the raw.lxc lines that give them.
//
// A pod is one LXD container per CRI container plus a namespace holder (lxe-init pause). CRI's
// NamespaceOption says, for the network, PID and IPC namespaces, whether a container has its own
// (CONTAINER), shares the pod's (POD: the holder's) or the host's (NODE). LXC joins an existing
// namespace with lxc.namespace.share.<kind> = <pid or namespace file>. Facts of LXC 5.0 that shape
// what is here (measured on LXD 5.0.2):
// - LXC enters a shared user namespace first. A container that joins the holder's user namespace
//   can no longer enter a namespace the host's user namespace owns (the host's network, PID or IPC
//   namespace): the start fails "Failed to inherit pid namespace". So when a pod uses any of the
//   host's namespaces its containers get their own user namespace (LXD gives every container the
//   same ID map, so files and IDs still agree), and join the holder's namespaces from outside.
// - Without owning the network namespace LXC cannot mount sysfs, and without owning the PID
//   namespace it cannot mount proc: such a container gets a bind of the host's /sys, and of the
//   host's /proc when it is in the host's PID namespace. A proc of the holder's PID namespace cannot
//   be had from a user namespace of its own (a bind through /proc/<pid>/root is refused), so in a
//   pod that uses the host's network or IPC namespace each container has a PID namespace of its
//   own even when the pod asks to share one (PodSandboxStatus then reports CONTAINER).
// - A PID namespace of its own (CONTAINER) is made by lxe-init, not LXC: lxe-init stays PID 1 of
//   the LXD container (it keeps the log, the exit code and attach) and starts the workload as PID 1
//   of a new PID namespace, as runc would (init/run_mode.cc). The LXD container's own PID
//   namespace is then only lxe-init's and its execs'.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/v1/api.pb.h"
#include "store/records.h"

namespace lxe::reconcile {

// Where one of a container's namespaces comes from.
enum class NamespaceSource {
  Own,     // a new one (the LXD container's own; for PID lxe-init makes the workload's)
  Holder,  // the pod's, held by its namespace holder
  Host,    // the host's namespace file (--host-netns, --host-pidns, --host-ipcns)
};

struct ContainerNamespaces {
  NamespaceSource network = NamespaceSource::Holder;
  NamespaceSource pid = NamespaceSource::Holder;
  NamespaceSource ipc = NamespaceSource::Holder;
  // The user namespace is the holder's unless one of the others is the host's (see above).
  bool shares_holder_user() const {
    return network != NamespaceSource::Host && pid != NamespaceSource::Host && ipc != NamespaceSource::Host;
  }
};

// The host's namespace files that NODE modes join.
struct HostNamespaceFiles {
  std::string network = "/proc/1/ns/net";
  std::string pid = "/proc/1/ns/pid";
  std::string ipc = "/proc/1/ns/ipc";
};

// The pod's modes, from PodSandboxConfig.linux.security_context.namespace_options (CRI's zero value
// is POD for each).
runtime::v1::NamespaceOption pod_namespace_modes(const runtime::v1::PodSandboxConfig& config);

// The modes the pod has: the ones it asked for, except a PID namespace it cannot share (see above).
runtime::v1::NamespaceOption effective_pod_namespace_modes(const runtime::v1::PodSandboxConfig& config);

// A container's namespaces: network from the pod; PID and IPC from the container's own
// namespace_options when it has them (kubelet sends them), else the pod's. A system container
// (`runs_image_init`) without namespace_options of its own has its own PID namespace unless its pod
// is in the host's: CRI's zero value is POD, and its image's init must be PID 1. TARGET is refused
// at CreateContainer (container_namespace_problem) and never reaches here.
ContainerNamespaces container_namespaces(const runtime::v1::PodSandboxConfig& sandbox_config,
                                         const runtime::v1::ContainerConfig& config, bool runs_image_init);

// Why lxe cannot give these modes, or "" when it can. `runs_image_init`: the container runs its
// image's own init (which must be PID 1 of its own PID namespace).
std::string pod_namespace_problem(const runtime::v1::NamespaceOption& pod);
std::string container_namespace_problem(const runtime::v1::PodSandboxConfig& sandbox_config,
                                        const runtime::v1::ContainerConfig& config, bool runs_image_init);
// The same for a container of a pod whose namespaces lxe pinned: it cannot share a PID namespace
// of the pod's (there is none).
std::string container_namespace_problem(const store::SandboxRecord& sandbox,
                                        const runtime::v1::PodSandboxConfig& sandbox_config,
                                        const runtime::v1::ContainerConfig& config, bool runs_image_init);

// What a container names to join its pod's namespaces (lxc.namespace.share.<kind> = <ref>): the
// holder's PID for each, or the pin files of a pod whose namespaces lxe pinned
// (pinned_namespaces.h), which has no PID namespace of the pod's. "" where there is nothing to join
// (yet): a holder that has not run, a kind a pinned pod does not have.
struct PodNamespaceRefs {
  std::string user;
  std::string network;
  std::string pid;
  std::string ipc;
};
PodNamespaceRefs holder_refs(int64_t infra_pid);  // all "" for 0
PodNamespaceRefs pinned_refs(const std::string& dir);
// The record's refs: its holder's PID, or its pins under `namespaces_dir` once they are made.
PodNamespaceRefs pod_namespace_refs(const store::SandboxRecord& sandbox, const std::string& namespaces_dir);

// Who keeps a new pod's namespaces. lxe pins them (`pin`: --pod-namespaces pinned) unless the pod
// needs a holder: its containers share a PID namespace (POD: it needs a process to live), it uses
// a namespace of the host's (its containers then have user namespaces of their own, and the holder
// carries the mounts and the port sysctl that needs), or its network needs one
// (`network_needs_holder`: on lxe's bridge, host ports, which are LXD proxy devices of the holder,
// or no CNI plugins to plug a pinned namespace in: pod_network.h, bridge_attachment).
store::PodNamespaces pod_namespace_keeper(const runtime::v1::PodSandboxConfig& config, bool network_needs_holder,
                                         bool pin);

// The holder's raw.lxc namespace lines: the host's namespaces a NODE pod asks for (network, PID,
// IPC), with the mounts LXC cannot make itself then. `instance_name` names LXD's shmounts folder.
std::string holder_namespace_raw_lxc(const runtime::v1::NamespaceOption& pod, const HostNamespaceFiles& host,
                                     const std::string& instance_name, const std::string& lxd_dir);

// A container's raw.lxc namespace lines, joining the pod's (`pod`) or the host's as `namespaces`
// says. Empty for a pod whose namespaces are not made yet and that joins nothing of the host's.
// Throws std::invalid_argument when the container asks for a namespace of the pod's that the pod
// does not have (container_namespace_problem refuses that at CreateContainer).
std::string container_namespace_raw_lxc(const ContainerNamespaces& namespaces, const PodNamespaceRefs& pod,
                                        const HostNamespaceFiles& host, const std::string& instance_name,
                                        const std::string& lxd_dir);
// The same for a pod with a holder of PID `infra_pid` (0: not run yet).
std::string container_namespace_raw_lxc(const ContainerNamespaces& namespaces, int64_t infra_pid,
                                        const HostNamespaceFiles& host, const std::string& instance_name,
                                        const std::string& lxd_dir);

// Whether `raw_lxc` (an instance's) names a holder PID other than `infra_pid` in a
// lxc.namespace.share.* line. Such an instance must be pointed at the current holder before it
// starts again.
bool names_other_holder(const std::string& raw_lxc, int64_t infra_pid);
// The same for any pod: a PID other than the holder's (a pinned pod's containers name none).
bool names_other_holder(const std::string& raw_lxc, const PodNamespaceRefs& pod);

// Whether `raw_lxc` joins the network namespace of holder `infra_pid` as LXC can start it: with
// the holder's user namespace too, or from a user namespace of its own with the host's /sys bound
// (LXC cannot mount a sysfs there).
bool joins_holder_network(const std::string& raw_lxc, int64_t infra_pid);
// The same for any pod: its holder's or its pinned network namespace.
bool joins_pod_network(const std::string& raw_lxc, const PodNamespaceRefs& pod);

// Why `path` cannot be joined as a namespace of `kind` (CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWIPC),
// or "" when it can: it must open, be a namespace file, and be of that kind.
std::string namespace_file_problem(const std::string& path, int kind);

// The mode name CRI uses (POD, CONTAINER, NODE, TARGET).
std::string namespace_mode_name(runtime::v1::NamespaceMode mode);

}  // namespace lxe::reconcile
