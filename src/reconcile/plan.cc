#include "reconcile/plan.h"

#include <algorithm>

#include "reconcile/lxd_specs.h"
#include "reconcile/pod_namespaces.h"
#include "reconcile/pod_network.h"

namespace lxe::reconcile {

using store::ContainerRecord;
using store::ContainerState;
using store::SandboxRecord;
using store::SandboxState;

std::string_view to_string(ActionKind kind) {
  switch (kind) {
    case ActionKind::CreateProfile: return "create-profile";
    case ActionKind::CreateInfra: return "create-infra";
    case ActionKind::StartInfra: return "start-infra";
    case ActionKind::RecordInfraPid: return "record-infra-pid";
    case ActionKind::RecordReady: return "record-ready";
    case ActionKind::RecordNotReady: return "record-notready";
    case ActionKind::StopInfra: return "stop-infra";
    case ActionKind::DeleteInfra: return "delete-infra";
    case ActionKind::DeleteProfile: return "delete-profile";
    case ActionKind::RestoreHolderNetwork: return "restore-holder-network";
    case ActionKind::PinNamespaces: return "pin-namespaces";
    case ActionKind::UnpinNamespaces: return "unpin-namespaces";
    case ActionKind::RecordNetworkAdding: return "record-network-adding";
    case ActionKind::NetworkAdd: return "network-add";
    case ActionKind::NetworkDel: return "network-del";
    case ActionKind::CreateInstance: return "create-instance";
    case ActionKind::RecordCreated: return "record-created";
    case ActionKind::SyncNamespaces: return "sync-namespaces";
    case ActionKind::StartInstance: return "start-instance";
    case ActionKind::RecordStarted: return "record-started";
    case ActionKind::StopInstance: return "stop-instance";
    case ActionKind::KillInstance: return "kill-instance";
    case ActionKind::RecordExit: return "record-exit";
    case ActionKind::ApplyLimits: return "apply-limits";
    case ActionKind::RestoreDevices: return "restore-devices";
    case ActionKind::StageVolumes: return "stage-volumes";
    case ActionKind::DeleteInstance: return "delete-instance";
    case ActionKind::MarkReconciled: return "mark-reconciled";
    case ActionKind::EraseRecord: return "erase-record";
    case ActionKind::Wait: return "wait";
  }
  return "unknown";
}

std::string namespace_share_lines(int64_t infra_pid) {
  const std::string pid = std::to_string(infra_pid);
  return "lxc.namespace.share.net = " + pid + "\nlxc.namespace.share.user = " + pid + "\n";
}

namespace {

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Devices of an existing instance that someone removed or edited: put back, live.
void restore_devices(std::vector<Action>& plan, const ContainerObservation& o) {
  if (o.instance && !o.drifted_devices.empty())
    plan.push_back({ActionKind::RestoreDevices,
                    "devices removed or changed outside lxe: " + join_names(o.drifted_devices)});
}

bool needs_mark(int64_t generation, int64_t observed_generation) { return observed_generation < generation; }

void finish(std::vector<Action>& plan, int64_t generation, int64_t observed_generation) {
  if (needs_mark(generation, observed_generation) || !plan.empty())
    plan.push_back({ActionKind::MarkReconciled, "LXD matches generation " + std::to_string(generation)});
}

// The LXD side a pod has either way: its profile, as lxe made it.
void ensure_profile(std::vector<Action>& plan, const SandboxObservation& o) {
  if (!o.profile_exists) plan.push_back({ActionKind::CreateProfile, "profile missing"});
  else if (!o.drifted_profile_devices.empty())
    plan.push_back({ActionKind::RestoreDevices, "profile devices removed or changed outside lxe: " +
                                                    join_names(o.drifted_profile_devices)});
}

// CNI: ADD once the pod's namespace exists, and never again once its result is stored.
void add_network(std::vector<Action>& plan, const SandboxRecord& s) {
  if (set_up_by_cni(s) && s.cni_state != "added") {
    if (s.cni_state.empty()) plan.push_back({ActionKind::RecordNetworkAdding, "CNI ADD is about to run"});
    plan.push_back({ActionKind::NetworkAdd, s.cni_state.empty()
                                                ? "the pod's network (CNI ADD)"
                                                : "an earlier CNI ADD did not finish: DEL, then ADD again"});
  }
}

// A pod without a holder: lxe pins its namespaces (pinned_namespaces.h). Made once; pins that are
// gone (a host reboot) or hold other namespaces mean the pod's namespaces are lost, and the pod is
// NotReady for good, as when a holder dies: kubelet makes a new sandbox.
std::vector<Action> plan_pinned_sandbox_ready(const SandboxRecord& s, const SandboxObservation& o) {
  std::vector<Action> plan;
  const bool pins_held = s.pinned_netns != 0 && o.pinned_netns == s.pinned_netns;
  if (s.pinned_netns != 0 && (!pins_held || s.observed_state == store::SandboxObserved::NotReady)) {
    if (s.observed_state != store::SandboxObserved::NotReady)
      plan.push_back({ActionKind::RecordNotReady,
                      !o.pinned_netns ? "the pod's pinned namespaces are gone (the host rebooted, or they were "
                                        "unmounted outside lxe)"
                                      : "the pod's namespace pins hold other namespaces (replaced outside lxe)"});
    finish(plan, s.generation, s.observed_generation);
    return plan;
  }
  if (pins_held && set_up_by_cni(s) && o.pod_interface_present == false) {
    plan.push_back({ActionKind::RecordNotReady,
                    "the pod's interface eth0 is gone from its network namespace (removed outside lxe)"});
    finish(plan, s.generation, s.observed_generation);
    return plan;
  }
  ensure_profile(plan, o);
  if (s.pinned_netns == 0) plan.push_back({ActionKind::PinNamespaces, "containers join the namespaces lxe pins"});
  add_network(plan, s);
  if (s.observed_state != store::SandboxObserved::Ready || !plan.empty())
    plan.push_back({ActionKind::RecordReady, "the pod's namespaces are pinned"});
  finish(plan, s.generation, s.observed_generation);
  return plan;
}

std::vector<Action> plan_sandbox_ready(const SandboxRecord& s, const SandboxObservation& o) {
  if (s.pod_namespaces == store::PodNamespaces::Pinned) return plan_pinned_sandbox_ready(s, o);
  std::vector<Action> plan;
  const bool infra_running = o.infra && o.infra->running;
  // Running, but not the process whose namespaces the pod's containers share: restarted outside
  // lxe (lxe itself never restarts a holder). Known only when the state was read (InstanceFacts::pid).
  const bool infra_replaced = infra_running && s.infra_pid != 0 && o.infra->pid.value_or(0) != 0 &&
                              *o.infra->pid != s.infra_pid;
  if (s.infra_pid != 0 &&
      (!infra_running || infra_replaced || s.observed_state == store::SandboxObserved::NotReady)) {
    // The pod's namespaces were made and are gone (the holder stopped, was deleted or restarted
    // behind our back). Starting a new holder would give new containers a different network
    // namespace than the running ones, so the sandbox is reported NotReady and kubelet recreates
    // the pod. It stays NotReady even if the holder runs again: that is a new process with new
    // namespaces, and infra_pid no longer names it.
    if (s.observed_state != store::SandboxObserved::NotReady) {
      std::string why = !o.infra          ? "the pod's namespace holder was deleted outside lxe"
                        : !infra_running  ? "the pod's namespace holder stopped"
                                          : "the pod's namespace holder was restarted outside lxe (PID " +
                                               std::to_string(s.infra_pid) + " is now " +
                                               std::to_string(*o.infra->pid) + "): the pod's namespaces are gone";
      plan.push_back({ActionKind::RecordNotReady, why});
    }
    finish(plan, s.generation, s.observed_generation);
    return plan;
  }
  // The pod's interface, removed or changed behind lxe's back while the holder runs. On lxe's
  // bridge it is put back with the same address (the stored one); a CNI pod is reported NotReady
  // (ADD is never run twice) and kubelet makes a new sandbox. An interface deleted inside the
  // namespace while LXD still has the NIC cannot be plugged again without a restart of the holder:
  // NotReady too.
  if (infra_running && s.infra_pid != 0) {
    const bool bridged = !bridge_of(s.pod_network).empty() && !s.pod_ip.empty();
    const bool interface_lost = o.pod_interface_present == false;
    const bool nic_drifted = std::find(o.drifted_holder_devices.begin(), o.drifted_holder_devices.end(),
                                       std::string(kPodNicDevice)) != o.drifted_holder_devices.end();
    if ((set_up_by_cni(s) && interface_lost) || (bridged && interface_lost && !nic_drifted)) {
      plan.push_back({ActionKind::RecordNotReady,
                      "the pod's interface eth0 is gone from its network namespace (removed outside lxe)"});
      finish(plan, s.generation, s.observed_generation);
      return plan;
    }
    if (bridged && (!o.drifted_holder_devices.empty() || o.pod_address_present == false))
      plan.push_back({ActionKind::RestoreHolderNetwork,
                      o.drifted_holder_devices.empty()
                          ? "the pod's address is gone from eth0 (removed outside lxe)"
                          : "holder devices removed or changed outside lxe: " + join_names(o.drifted_holder_devices)});
    else if (!o.drifted_holder_devices.empty())  // host-port proxies of a pod without an address
      plan.push_back({ActionKind::RestoreHolderNetwork,
                      "holder devices removed or changed outside lxe: " + join_names(o.drifted_holder_devices)});
  }
  ensure_profile(plan, o);
  if (!o.infra) plan.push_back({ActionKind::CreateInfra, "namespace holder missing"});
  if (!infra_running) plan.push_back({ActionKind::StartInfra, "namespace holder not running"});
  if (!infra_running || s.infra_pid == 0)
    plan.push_back({ActionKind::RecordInfraPid, "containers join the holder's namespaces by PID"});
  add_network(plan, s);
  if (s.observed_state != store::SandboxObserved::Ready || !plan.empty())
    plan.push_back({ActionKind::RecordReady, "namespace holder running"});
  finish(plan, s.generation, s.observed_generation);
  return plan;
}

// CNI: DEL while the holder's namespace is still there (before the holder stops), whenever ADD
// ran or may have run.
void tear_down_network(std::vector<Action>& plan, const SandboxRecord& s, const char* why) {
  if (set_up_by_cni(s) && !s.cni_state.empty()) plan.push_back({ActionKind::NetworkDel, why});
}

std::vector<Action> plan_sandbox_not_ready(const SandboxRecord& s, const std::vector<ContainerRecord>& containers,
                                           const SandboxObservation& o) {
  // The holder goes after the pod's containers have stopped: its end takes the pod's PID
  // namespace with it, and with it the processes of containers that share it, before their
  // lxe-init could record how they ended. Pins go after them too, as containerd removes a pod's
  // network only once its containers are stopped.
  const bool pinned = s.pod_namespaces == store::PodNamespaces::Pinned;
  if ((o.infra && o.infra->running) || (pinned && o.pinned_netns)) {
    const auto stopping = std::count_if(containers.begin(), containers.end(), [](const ContainerRecord& c) {
      return c.desired_state == ContainerState::Exited && c.observed_state == store::ContainerObserved::Running &&
             c.observed_generation < c.generation;
    });
    if (stopping > 0) return {{ActionKind::Wait, std::to_string(stopping) + " container(s) still stopping"}};
  }
  std::vector<Action> plan;
  tear_down_network(plan, s, "sandbox stopped");
  if (o.infra && o.infra->running) plan.push_back({ActionKind::StopInfra, "sandbox stopped"});
  if (pinned && o.pinned_netns) plan.push_back({ActionKind::UnpinNamespaces, "sandbox stopped"});
  if (s.observed_state != store::SandboxObserved::NotReady || !plan.empty())
    plan.push_back({ActionKind::RecordNotReady, "sandbox stopped"});
  finish(plan, s.generation, s.observed_generation);
  return plan;
}

// Removal goes in two steps. First what the caller of RemovePodSandbox waits for: every container
// removed for CRI (store::removed_for_cri: its processes gone), the network torn down, the holder
// stopped; MarkReconciled then answers the call. After it, off the caller's path: the holder
// deleted once LXD has torn it down, the profile once the containers' instances (which use it) are
// deleted, and the record erased. Each step is planned from what is observed, so a crash anywhere
// resumes where things stand.
std::vector<Action> plan_sandbox_removed(const SandboxRecord& s, const std::vector<ContainerRecord>& containers,
                                         const SandboxObservation& o) {
  const auto removing = std::count_if(containers.begin(), containers.end(),
                                      [](const ContainerRecord& c) { return !store::removed_for_cri(c); });
  if (removing > 0) return {{ActionKind::Wait, std::to_string(removing) + " container(s) still being removed"}};
  std::vector<Action> plan;
  tear_down_network(plan, s, "sandbox removed");
  if (o.infra && o.infra->running) plan.push_back({ActionKind::StopInfra, "sandbox removed"});
  if (s.pod_namespaces == store::PodNamespaces::Pinned && o.pinned_netns)
    plan.push_back({ActionKind::UnpinNamespaces, "sandbox removed"});
  if (needs_mark(s.generation, s.observed_generation)) {
    plan.push_back({ActionKind::MarkReconciled,
                    "the pod's containers and holder are stopped and its network is gone: removed for CRI; "
                    "LXD deletes the rest next"});
    return plan;
  }
  if (o.infra) plan.push_back({ActionKind::DeleteInfra, "sandbox removed"});
  if (!containers.empty()) {
    // The profile is in use until LXD has deleted the containers' instances; each deleted one
    // requeues the sandbox.
    if (plan.empty())
      return {{ActionKind::Wait, std::to_string(containers.size()) + " container instance(s) still being deleted"}};
    return plan;
  }
  if (o.profile_exists) plan.push_back({ActionKind::DeleteProfile, "sandbox removed"});
  plan.push_back({ActionKind::EraseRecord, "nothing of the sandbox is left in LXD"});
  return plan;
}

}  // namespace

std::vector<Action> plan_sandbox(const SandboxRecord& sandbox, const std::vector<ContainerRecord>& containers,
                                 const SandboxObservation& observed) {
  switch (sandbox.desired_state) {
    case SandboxState::Ready: return plan_sandbox_ready(sandbox, observed);
    case SandboxState::NotReady: return plan_sandbox_not_ready(sandbox, containers, observed);
    case SandboxState::Removed: return plan_sandbox_removed(sandbox, containers, observed);
  }
  return {};
}

namespace {

bool sandbox_usable(const SandboxRecord& sandbox) {
  return sandbox.desired_state == SandboxState::Ready && store::pod_namespaces_made(sandbox) &&
         sandbox.observed_state == store::SandboxObserved::Ready;
}

// Whether lxe-init left a record of running the command: started.json, or exit.json alone when
// the command could not be set up. Both are cleared before every start, so either means this
// container was started.
// Whether the instance's limits.* differ from what the record's resources ask for, under the pod's
// own. A record whose resources cannot be read asks for nothing here; the executor reports the
// error when it creates.
bool limits_drifted(const ContainerRecord& c, const SandboxRecord& sandbox, const ContainerObservation& o) {
  if (!o.instance) return false;
  try {
    return !limits_match(container_limits(c, sandbox), o.instance->limits);
  } catch (const std::exception&) {
    return false;
  }
}

bool ran(const ContainerObservation& o) { return o.started_at.has_value() || o.exit.has_value(); }

// The container ran and is no longer running: record how it ended, once.
void record_exit_once(std::vector<Action>& plan, const ContainerRecord& c, const std::string& why) {
  if (c.finished_at == 0) plan.push_back({ActionKind::RecordExit, why});
}

// Why a container that ran is no longer running, when lxe did not stop it. The text becomes the
// container's CRI message when something outside lxe ended it (kubelet shows it in events).
std::string why_ended(const ContainerObservation& o) {
  if (!o.instance) return std::string(kDeletedOutside);
  if (!o.exit) return std::string(kStoppedOutside);
  return "the command ended";
}

std::vector<Action> plan_container_created(const ContainerRecord& c, const SandboxRecord& sandbox,
                                           const ContainerObservation& o) {
  std::vector<Action> plan;
  if (!o.instance) {
    if (!sandbox_usable(sandbox)) return {{ActionKind::Wait, "the pod sandbox is not ready"}};
    plan.push_back({ActionKind::CreateInstance, "instance missing"});
  }
  restore_devices(plan, o);
  if (limits_drifted(c, sandbox, o)) plan.push_back({ActionKind::ApplyLimits, "limits differ from the record's resources"});
  if (c.observed_state != store::ContainerObserved::Created || !plan.empty())
    plan.push_back({ActionKind::RecordCreated, "instance exists"});
  finish(plan, c.generation, c.observed_generation);
  return plan;
}

std::vector<Action> plan_container_running(const ContainerRecord& c, const SandboxRecord& sandbox,
                                           const ContainerObservation& o) {
  std::vector<Action> plan;
  const bool running = o.instance && o.instance->running;
  if (c.started_at != 0) {
    // Started once: CRI containers are never started again; kubelet makes a new one.
    if (!running) record_exit_once(plan, c, why_ended(o));
    // Resources change live (limits.* apply without a restart), and edits made behind lxe's
    // back are put back the same way. A staged volume that is gone is made again first (the
    // container keeps its own copy and is not touched): a device put back needs it.
    if (running && !o.unstaged_volumes.empty())
      plan.push_back({ActionKind::StageVolumes, "staged mounts missing: " + join_names(o.unstaged_volumes)});
    if (running) restore_devices(plan, o);
    if (running && limits_drifted(c, sandbox, o))
      plan.push_back({ActionKind::ApplyLimits, "limits differ from the record's resources"});
    finish(plan, c.generation, c.observed_generation);
    return plan;
  }
  if (running) {
    // Started, but lxe stopped before it could record that (or adopted after a restart).
    plan.push_back({ActionKind::RecordStarted, "instance running"});
    if (!o.unstaged_volumes.empty())
      plan.push_back({ActionKind::StageVolumes, "staged mounts missing: " + join_names(o.unstaged_volumes)});
  } else if (ran(o)) {
    // It ran and already ended while nobody recorded the start (lxe stopped right after starting
    // it). Starting it again would run the command twice.
    plan.push_back({ActionKind::RecordStarted, "lxe-init recorded a start"});
    record_exit_once(plan, c, why_ended(o));
  } else {
    if (!sandbox_usable(sandbox)) return {{ActionKind::Wait, "the pod sandbox is not ready"}};
    if (!o.instance) plan.push_back({ActionKind::CreateInstance, "instance missing"});
    restore_devices(plan, o);
    // Before every start, whatever an observation showed: LXD binds the staged mounts as they are
    // when it starts the instance, and an empty staging folder would be a silently empty volume.
    if (o.mounts > 0)
      plan.push_back({ActionKind::StageVolumes, "volumes are staged and their container paths resolved before a start"});
    // (The host's namespaces are named the same for good, and so are a pinned pod's; a holder's
    // change with its PID.)
    const PodNamespaceRefs refs = o.pod_refs ? *o.pod_refs : holder_refs(sandbox.infra_pid);
    if (!o.instance || names_other_holder(o.instance->raw_lxc, refs) ||
        (!in_host_network(sandbox) && !joins_pod_network(o.instance->raw_lxc, refs)))
      plan.push_back({ActionKind::SyncNamespaces,
                      sandbox.pod_namespaces == store::PodNamespaces::Pinned
                          ? "join the pod's namespaces (pinned by lxe)"
                          : "join the pod's namespaces (holder PID " + std::to_string(sandbox.infra_pid) + ")"});
    plan.push_back({ActionKind::StartInstance, "start requested"});
    plan.push_back({ActionKind::RecordStarted, "instance started"});
  }
  finish(plan, c.generation, c.observed_generation);
  return plan;
}

std::vector<Action> plan_container_exited(const ContainerRecord& c, const ContainerObservation& o) {
  std::vector<Action> plan;
  const bool running = o.instance && o.instance->running;
  // StartContainer gave up and recorded StartError (an end without a start): for CRI the container
  // never started, and it stays so. A start that LXD completed afterwards is only undone.
  const bool start_failed = c.started_at == 0 && c.finished_at != 0;
  if (running && start_failed) {
    plan.push_back({ActionKind::KillInstance, "its start completed after StartError was recorded"});
  } else if (running && c.finished_at != 0) {
    // The exit is recorded and the instance still runs: lxe-init did not exit after it recorded
    // the exit (it normally does at once, and LXD tears the instance down by itself), or something
    // started the instance again outside lxe. Its processes go; the record stays as it is.
    plan.push_back({ActionKind::KillInstance, "its exit is recorded and the instance still runs"});
  } else if (running && o.exit) {
    // lxe-init recorded the workload's end (a stop it carried out for an lxe that died before it
    // recorded the exit, or the command's own end) and exits next: nothing to stop, the exit is
    // recorded, once.
    if (c.started_at == 0) plan.push_back({ActionKind::RecordStarted, "lxe-init recorded a start"});
    plan.push_back({ActionKind::RecordExit, "lxe-init recorded the exit"});
  } else if (running) {
    if (c.started_at == 0) plan.push_back({ActionKind::RecordStarted, "instance running"});
    plan.push_back({ActionKind::StopInstance, "stop requested"});
    plan.push_back({ActionKind::RecordExit, "stopped"});
  } else if (c.started_at != 0) {
    record_exit_once(plan, c, why_ended(o));
  } else if (ran(o) && c.finished_at == 0) {
    // It ran and ended before its start was recorded: record both, or its exit is lost.
    plan.push_back({ActionKind::RecordStarted, "lxe-init recorded a start"});
    plan.push_back({ActionKind::RecordExit, why_ended(o)});
  }
  // Never started and not running: stopping a created container changes nothing (as in containerd).
  finish(plan, c.generation, c.observed_generation);
  return plan;
}

// Removal in two steps, as for a sandbox: the container's processes killed, then MarkReconciled
// answers RemoveContainer (removed for CRI); after it, off the caller's path, the instance deleted
// once LXD has torn it down (~0.75 s after its processes died, here) and the record erased.
std::vector<Action> plan_container_removed(const ContainerRecord& c, const ContainerObservation& o) {
  std::vector<Action> plan;
  if (o.instance && o.instance->running) plan.push_back({ActionKind::KillInstance, "container removed"});
  if (needs_mark(c.generation, c.observed_generation)) {
    plan.push_back({ActionKind::MarkReconciled,
                    "its processes are gone: removed for CRI; LXD deletes the instance next"});
    return plan;
  }
  if (o.instance) plan.push_back({ActionKind::DeleteInstance, "container removed"});
  plan.push_back({ActionKind::EraseRecord, "nothing of the container is left in LXD"});
  return plan;
}

}  // namespace

std::vector<Action> plan_container_from_files(const ContainerRecord& c, const ContainerObservation& o) {
  if (c.desired_state == ContainerState::Removed || c.observed_state != store::ContainerObserved::Running ||
      c.started_at == 0 || c.finished_at != 0 || !o.exit)
    return {};
  return {{ActionKind::RecordExit, "lxe-init recorded the exit while lxe was not running"}};
}

std::vector<Action> plan_container(const ContainerRecord& container, const SandboxRecord& sandbox,
                                   const ContainerObservation& observed) {
  switch (container.desired_state) {
    case ContainerState::Created: return plan_container_created(container, sandbox, observed);
    case ContainerState::Running: return plan_container_running(container, sandbox, observed);
    case ContainerState::Exited: return plan_container_exited(container, observed);
    case ContainerState::Removed: return plan_container_removed(container, observed);
  }
  return {};
}

}  // namespace lxe::reconcile
