// The reconciler's decisions, as pure functions: from a desired record and what LXD (and the
// container's state directory) show, to the ordered list of actions that moves LXD toward the
// record. No I/O here: every desired/observed pair is unit-tested without LXD.
//
// Level-triggered and idempotent: a plan depends only on the current desired and observed state,
// never on what was done before, so re-planning after a crash or after a partial failure picks up
// where things stand.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reconcile/pod_namespaces.h"
#include "store/records.h"

namespace lxe::reconcile {

// What LXD says about one instance (from a GET or a list, never from a /state call).
struct InstanceFacts {
  bool running = false;
  std::string raw_lxc;                        // config raw.lxc as LXD has it
  std::map<std::string, std::string> limits;  // its limits.* config keys
  // Its init PID on the host, only when lxe read the instance's state (slow on LXD, so only for
  // namespace holders after lxe starts, after the event stream reconnects, and after a lifecycle
  // event about the holder): how a holder restarted behind lxe's back is told from the one whose
  // namespaces the pod's containers share.
  std::optional<int64_t> pid;
};

struct SandboxObservation {
  bool profile_exists = false;
  std::vector<std::string> drifted_profile_devices;  // lxe's profile devices missing or changed
  std::optional<InstanceFacts> infra;  // the pod's namespace holder
  // The holder's network devices (its NIC on lxe's bridge, its host-port proxies) missing or
  // changed in LXD.
  std::vector<std::string> drifted_holder_devices;
  // Looked at only in a running holder of a pod that has an interface (an address on lxe's
  // bridge, or a finished CNI ADD): whether eth0 is in its namespace, and (bridge) whether it
  // carries the pod's address.
  std::optional<bool> pod_interface_present;
  std::optional<bool> pod_address_present;
  // A pod whose namespaces lxe pins: the inode of the network namespace its pins hold now, nullopt
  // when they are not all there (never made, unpinned, lost with a host reboot).
  std::optional<int64_t> pinned_netns;
};

// What the container's init (lxe-init) recorded in its state directory on the host.
struct ExitRecord {
  int32_t exit_code = 0;
  int32_t signal = 0;
  bool oom_killed = false;  // SIGKILLed while the container's cgroup counted an OOM kill
  int64_t finished_at = 0;
};

struct ContainerObservation {
  std::optional<InstanceFacts> instance;
  std::optional<int64_t> started_at;  // started.json, written by lxe-init when it ran the command
  std::optional<ExitRecord> exit;     // exit.json, written by lxe-init when the command ended
  std::vector<std::string> drifted_devices;  // lxe's devices the instance lacks or has changed
  int mounts = 0;                            // the container's CRI mounts (volumes.h)
  // What the container must name to join its pod's namespaces; nullopt: its pod's holder, by the
  // record's infra_pid. (The executor fills it from the pod's record and lxe's state folder.)
  std::optional<PodNamespaceRefs> pod_refs;
  // Mount devices of a running instance whose staged mount lxe made is gone: the container keeps
  // its own copy, but LXD needs the staged one to plug the device in again.
  std::vector<std::string> unstaged_volumes;
};

enum class ActionKind {
  // Sandbox.
  CreateProfile,
  CreateInfra,
  StartInfra,
  RecordInfraPid,  // reads the infra's init PID (one /state call, once per start) into the record
  RecordReady,     // observed state: ready
  RecordNotReady,  // observed state: notready
  StopInfra,
  DeleteInfra,
  DeleteProfile,
  RestoreHolderNetwork,  // bridge: PATCHes the holder's NIC and proxies back, sets the address (lxe-init ifup)
  RecordNetworkAdding,  // CNI: cni_state 'adding', committed before ADD runs (a crash leaves it)
  NetworkAdd,           // CNI ADD in the holder's namespace (DEL first after an unfinished ADD)
  NetworkDel,           // CNI DEL (with the holder's namespace while it runs)
  // A pod whose namespaces lxe pins (store::PodNamespaces::Pinned) instead of a holder.
  PinNamespaces,    // makes and pins the pod's user, network and IPC namespaces; records pinned_netns
  UnpinNamespaces,  // detaches the pins (the namespaces end with their last process)
  // Container.
  CreateInstance,    // prepares the state directory and spec, then creates the LXD instance
  RecordCreated,     // observed state: created
  SyncNamespaces,    // points raw.lxc at the pod's current infra PID before a start
  StartInstance,
  RecordStarted,
  StopInstance,      // graceful for the record's stop_timeout, then forced
  KillInstance,      // forced stop
  RecordExit,        // copies the exit record (or what can be inferred) into the record
  ApplyLimits,       // PATCHes the record's resources into limits.* (live: no restart)
  RestoreDevices,    // PATCHes lxe's devices back (instance, or the pod's profile); LXD hot-plugs them
  StageVolumes,      // resolves container paths (first start), stages missing mounts, points the devices at them
  DeleteInstance,
  // Both.
  MarkReconciled,    // observed_generation = generation; observed state as planned
  EraseRecord,       // the object is gone from LXD: remove it from the store
  Wait,              // nothing to do until another object moves (requeued by that object)
};

std::string_view to_string(ActionKind kind);

// Reasons of a RecordExit when something outside lxe ended the container; the executor makes them
// the container's CRI message.
inline constexpr std::string_view kDeletedOutside = "the LXD instance was deleted outside lxe (e.g. lxc delete)";
inline constexpr std::string_view kStoppedOutside =
    "the LXD instance was stopped outside lxe (e.g. lxc stop) before its command ended";

struct Action {
  ActionKind kind;
  std::string reason;  // why, for the event log
};

// Sandbox: `containers` are the sandbox's containers still in the store.
std::vector<Action> plan_sandbox(const store::SandboxRecord& sandbox,
                                 const std::vector<store::ContainerRecord>& containers,
                                 const SandboxObservation& observed);

// Container: `sandbox` is its pod (a container never outlives its sandbox record).
std::vector<Action> plan_container(const store::ContainerRecord& container, const store::SandboxRecord& sandbox,
                                   const ContainerObservation& observed);

// Adoption's first step, before lxe serves CRI and without asking LXD: a container the store
// says is running whose lxe-init wrote its exit record (`observed.exit`; `instance` is not looked
// at) ended while lxe was down. Its exit is recorded at once so that the first ListContainers after
// a restart does not show it running. Empty for everything else (the full plan handles it).
std::vector<Action> plan_container_from_files(const store::ContainerRecord& container,
                                              const ContainerObservation& observed);

// The raw.lxc lines that make a container join the pod's network (and, as LXD requires for
// that, user) namespaces held by `infra_pid`; a container of a pod that uses none of the host's
// namespaces has them first (pod_namespaces.h adds the PID and IPC lines after them).
std::string namespace_share_lines(int64_t infra_pid);

}  // namespace lxe::reconcile
