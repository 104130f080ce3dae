// Carries out the actions a plan (plan.h) lists: LXD calls through lxd::Api, files on the host,
// and after each action one store commit with its event-log entry, so that a crash between two
// actions loses nothing that happened.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <utility>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/crash_points.h"
#include "lxd/api.h"
#include "reconcile/host_files.h"
#include "reconcile/lxd_specs.h"
#include "reconcile/observer.h"
#include "reconcile/plan.h"
#include "reconcile/ready_instances.h"
#include "reconcile/volumes.h"
#include "store/registry.h"

namespace lxe::reconcile {

enum class Outcome {
  Done,     // every action ran; the object is reconciled (or erased)
  Replan,   // the desired state changed while running: plan again now
  Waiting,  // the plan is waiting on another object
  Failed,   // an action failed; last_error holds why; retry later
};

class Executor {
 public:
  Executor(store::Registry& registry, const lxd::Api& lxd, const HostFiles& files, const Volumes& volumes,
           MappingOptions options, CrashPoints crash_points = {}, ReconcileObserver* observer = nullptr);

  // Where CreateInstance claims instances made ahead (ready_instances.h); null: it always creates.
  // Not owned; must outlive the executor.
  void use_ready_instances(ReadyInstances* ready) { ready_ = ready; }

  SandboxObservation observe_sandbox(const store::SandboxRecord& sandbox) const;
  ContainerObservation observe_container(const store::ContainerRecord& container,
                                         const store::SandboxRecord& sandbox) const;
  // Only what lxe-init left in the container's state directory on the host (no LXD call).
  ContainerObservation observe_container_files(const store::ContainerRecord& container) const;
  // For a removal's first step (plan.h), which needs only whether anything of the container runs:
  // an instance with a cgroup counts as running, without asking LXD (its first answer about an
  // instance whose init just died waits ~120 ms here, as LXD learns of the end). Without a
  // cgroup, LXD is asked (GET).
  ContainerObservation observe_container_for_removal(const store::ContainerRecord& container) const;
  // The host PID of a running holder's init: from its cgroup (cgroup_cleanup.h) when that tells,
  // else LXD's /state call (a holder in the host's PID namespace). 0 when LXD reports none.
  // Throws lxd::Error.
  int64_t holder_init_pid(const store::SandboxRecord& sandbox) const;

  Outcome run(const store::SandboxRecord& planned, const std::vector<Action>& plan);
  Outcome run(const store::ContainerRecord& planned, const store::SandboxRecord& sandbox,
              const std::vector<Action>& plan);

  // Adoption: what one list call of instances and one of profiles showed right after lxe started.
  // The first observation of each of these objects uses it instead of a GET (a restart with many
  // pods costs two LXD calls, not one per object); every later observation GETs. Only positive
  // hits are used: an object missing from the lists is still looked up, so an object created
  // after the lists were taken is never taken for absent. An entry is not used when it is older
  // than kPrimedLifetime, when lxe changed the object while or after the lists were taken (a CRI
  // call served during adoption), or when LXD reported an event about it since (forget_primed).
  // `list` makes the two list calls; what it throws reaches the caller, and nothing is primed.
  using Lists = std::pair<std::vector<lxd::Instance>, std::vector<lxd::Profile>>;
  void prime(const std::function<Lists()>& list);
  // Drops what adoption's lists showed of the LXD object `name` (an event says it changed).
  void forget_primed(const std::string& name);
  static constexpr std::chrono::seconds kPrimedLifetime{10};

  // Whether `listed` (an instance's devices as a list call shows them) lacks a device lxe put on
  // that instance, by name; false for instances lxe has not observed yet. For the periodic resync,
  // which must not rebuild every container's spec.
  bool lacks_devices(const std::string& lxd_name, const lxd::Devices& listed) const;

  // Imports the namespace holders' image into LXD unless it is there.
  void ensure_pause_image() const;

 private:
  // Performs the LXD/host side of one action; throws lxd::Error or std::runtime_error. A container
  // action returns what the event log should say beyond the action's reason ("" for nothing).
  // What a sandbox action learned, for the record.
  struct SandboxActionResult {
    int64_t infra_pid = 0;   // RecordInfraPid
    int64_t pinned_netns = 0;  // PinNamespaces
    std::string cni_result;  // NetworkAdd: ADD's result (JSON)
    std::string pod_ip;      // NetworkAdd: its first address
  };
  void do_sandbox_action(const Action& action, const store::SandboxRecord& sandbox,
                         const runtime::v1::PodSandboxConfig& config, SandboxActionResult& result);
  // CNI ADD (with DEL first after an unfinished ADD) and DEL for a pod.
  void network_add(const store::SandboxRecord& planned, const runtime::v1::PodSandboxConfig& config,
                   SandboxActionResult& result);
  void network_del(const store::SandboxRecord& planned, const runtime::v1::PodSandboxConfig& config);
  std::string do_container_action(const Action& action, const store::ContainerRecord& container,
                           const runtime::v1::ContainerConfig& config, const store::SandboxRecord& sandbox,
                           const runtime::v1::PodSandboxConfig& sandbox_config);

  // StopInstance through the container's lxe-init (workload_stop.h): what the event log says when
  // the workload is dead and its exit recorded, nullopt when LXD has to stop it.
  std::optional<std::string> stop_through_init(const store::ContainerRecord& container) const;

  // Makes a ready instance the container `spec` describes (ready_instances.h); whether it did.
  bool claim_ready_instance(const ReadyInstance& ready, const lxd::InstanceSpec& spec) const;

  std::optional<InstanceFacts> instance_facts(const std::string& name, const std::string& id,
                                              lxd::Devices* devices = nullptr) const;
  void remember_device_names(const std::string& lxd_name, const lxd::Devices& wanted) const;
  void forget_device_names(const std::string& lxd_name) const;

  store::Registry& registry_;
  const lxd::Api& lxd_;
  const HostFiles& files_;
  const Volumes& volumes_;
  MappingOptions options_;
  CrashPoints crash_points_;
  ReconcileObserver* observer_;  // not owned; may be null
  ReadyInstances* ready_ = nullptr;  // not owned; may be null
  // Tells the observer how one action went.
  void observed(const Action& action, bool ok, std::chrono::steady_clock::time_point started) const;
  lxd::Instance get_instance(const std::string& name) const;  // primed entry or GET
  lxd::Profile get_profile(const std::string& name) const;    // primed entry or GET

  // While a plan's actions run on the LXD object `name` (a pod's profile and holder share theirs):
  // adoption's lists taken meanwhile may show it half-changed, so their entries for it are not used.
  class ChangeMark;

  mutable std::mutex primed_mutex_;
  mutable std::map<std::string, lxd::Instance> primed_instances_;
  mutable std::map<std::string, lxd::Profile> primed_profiles_;
  std::chrono::steady_clock::time_point primed_at_;  // when the lists were asked for
  int listings_ = 0;                                 // list calls for a prime under way
  // LXD name -> when lxe last finished changing it (time_point::max() while it is changing). Kept
  // only while a prime or a listing could be affected.
  std::map<std::string, std::chrono::steady_clock::time_point> changed_until_;
  bool primed_usable(const std::string& name) const;  // under primed_mutex_
  mutable std::mutex device_names_mutex_;
  mutable std::map<std::string, std::set<std::string>> device_names_;  // LXD instance -> lxe's devices
};

}  // namespace lxe::reconcile
