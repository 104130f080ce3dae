#include "ctl/drift.h"

#include <map>
#include <set>

#include "reconcile/lxd_specs.h"
#include "model/naming.h"

namespace lxe::ctl {

using store::ContainerObserved;
using store::ContainerRecord;
using store::SandboxObserved;
using store::SandboxRecord;

std::string_view to_string(DriftKind kind) {
  switch (kind) {
    case DriftKind::Missing: return "missing";
    case DriftKind::Unknown: return "unknown";
    case DriftKind::Foreign: return "foreign";
    case DriftKind::State: return "state";
    case DriftKind::Limits: return "limits";
    case DriftKind::Device: return "device";
  }
  return "drift";
}

std::string DriftItem::key() const {
  return std::string(to_string(kind)) + "|" + object_kind + "|" + id + "|" + lxd_name + "|" + aspect;
}

namespace {

std::string config_value(const lxd::Config& config, const std::string& key) {
  const auto it = config.find(key);
  return it == config.end() ? "" : it->second;
}

bool in_scope(const std::string& name, const std::string& prefix) {
  return prefix.empty() || name.rfind(prefix + "-", 0) == 0;
}

bool managed(const lxd::Config& config) { return config_value(config, model::kManagedKey) == "true"; }

// An instance of this name that carries another ID or kind is not this record's: report it and
// compare nothing else.
bool check_ownership(const lxd::Instance& instance, const std::string& kind, const std::string& id,
                     const std::string& name, std::vector<DriftItem>& out) {
  const std::string their_id = config_value(instance.config, model::kIdKey);
  const std::string their_kind = config_value(instance.config, model::kKindKey);
  if (their_id == id && their_kind == kind) return true;
  out.push_back({DriftKind::Foreign, kind, id, name, instance.name, "",
                 "instance " + instance.name + " carries " + model::kKindKey + "=" +
                     (their_kind.empty() ? "(none)" : their_kind) + " " + model::kIdKey + "=" +
                     (their_id.empty() ? "(none)" : their_id.substr(0, 12)) + ", not this " + kind + "'s"});
  return false;
}

void check_devices(const lxd::Instance& instance, const std::vector<std::string>& wanted, const std::string& kind,
                   const std::string& id, const std::string& name, std::vector<DriftItem>& out) {
  for (const auto& device : wanted)
    if (instance.devices.count(device) == 0)
      out.push_back({DriftKind::Device, kind, id, name, instance.name, device,
                     "instance " + instance.name + " lacks the device " + device + " lxe gave it"});
}

// A record lxe is done with for now: its desired state is reached (observed generation caught
// up), it is not being removed, and it was observed at least once.
bool settled(const SandboxRecord& s) {
  return s.desired_state != store::SandboxState::Removed && s.observed_generation >= s.generation &&
         s.observed_state != SandboxObserved::Unknown;
}

bool settled(const ContainerRecord& c) {
  return c.desired_state != store::ContainerState::Removed && c.observed_generation >= c.generation &&
         c.observed_state != ContainerObserved::Unknown && c.observed_state != ContainerObserved::Absent;
}

void compare_sandbox(const SandboxRecord& s, const std::map<std::string, const lxd::Instance*>& instances,
                     const std::map<std::string, const lxd::Profile*>& profiles, std::vector<DriftItem>& out) {
  const std::string kind = "sandbox";
  const std::string name = s.namespace_ + "/" + s.name;
  const auto profile = profiles.find(s.lxd_name);
  if (profile == profiles.end()) {
    out.push_back({DriftKind::Missing, kind, s.id, name, s.lxd_name, "profile", "profile " + s.lxd_name + " is not in LXD"});
  } else {
    const auto& p = *profile->second;
    const std::string their_id = config_value(p.config, model::kIdKey);
    if (their_id != s.id)
      out.push_back({DriftKind::Foreign, kind, s.id, name, s.lxd_name, "profile",
                     "profile " + s.lxd_name + " carries " + model::kIdKey + "=" +
                         (their_id.empty() ? "(none)" : their_id.substr(0, 12)) + ", not this sandbox's"});
  }
  // A pod whose namespaces lxe pins has no holder instance (its pins are host mounts, which the
  // reconciler watches).
  if (s.pod_namespaces == store::PodNamespaces::Pinned) return;
  const auto found = instances.find(s.lxd_name);
  const bool ready = s.observed_state == SandboxObserved::Ready;
  if (found == instances.end()) {
    // A pod recorded notready may have lost its holder: that is what notready says.
    if (ready)
      out.push_back({DriftKind::Missing, kind, s.id, name, s.lxd_name, "instance",
                     "namespace holder instance " + s.lxd_name + " is not in LXD; the store has the pod ready"});
    return;
  }
  const lxd::Instance& holder = *found->second;
  if (!check_ownership(holder, kind, s.id, name, out)) return;
  if (ready && !holder.running())
    out.push_back({DriftKind::State, kind, s.id, name, s.lxd_name, "running",
                   "namespace holder " + s.lxd_name + " is " + holder.status + " in LXD; the store has the pod ready"});
  if (!ready && holder.running())
    out.push_back({DriftKind::State, kind, s.id, name, s.lxd_name, "running",
                   "namespace holder " + s.lxd_name + " is " + holder.status + " in LXD; the store has the pod " +
                       std::string(to_string(s.observed_state))});
  check_devices(holder, {"lxe-init"}, kind, s.id, name, out);
}

void compare_container(const ContainerRecord& c, const SandboxRecord* sandbox,
                       const std::map<std::string, const lxd::Instance*>& instances, std::vector<DriftItem>& out) {
  const std::string kind = "container";
  const std::string observed(to_string(c.observed_state));
  const auto found = instances.find(c.lxd_name);
  if (found == instances.end()) {
    // A start that failed before anything ran (StartError) may never have made the instance.
    if (c.reason == "StartError" && c.started_at == 0) return;
    out.push_back({DriftKind::Missing, kind, c.id, c.name, c.lxd_name, "instance",
                   "instance " + c.lxd_name + " is not in LXD; the store has the container " + observed});
    return;
  }
  const lxd::Instance& instance = *found->second;
  if (!check_ownership(instance, kind, c.id, c.name, out)) return;
  const bool should_run = c.observed_state == ContainerObserved::Running;
  if (should_run != instance.running())
    out.push_back({DriftKind::State, kind, c.id, c.name, c.lxd_name, "running",
                   "instance " + c.lxd_name + " is " + (instance.status.empty() ? "in an unknown state" : instance.status) +
                       " in LXD; the store has the container " + observed});
  std::vector<std::string> devices = {"lxe-init", "lxe-state"};
  if (!c.log_path.empty()) devices.push_back("lxe-log");
  check_devices(instance, devices, kind, c.id, c.name, out);
  lxd::Config wanted;
  try {
    // Under the pod's own resources, as lxe applies them (a pod the store lost has none).
    SandboxRecord no_pod;
    wanted = reconcile::container_limits(c, sandbox ? *sandbox : no_pod);
  } catch (const std::exception& e) {
    out.push_back({DriftKind::Limits, kind, c.id, c.name, c.lxd_name, "resources",
                   std::string("the record's resources cannot be read: ") + e.what()});
    return;
  }
  if (reconcile::limits_match(wanted, instance.config)) return;
  for (const auto& [key, value] : wanted) {
    const std::string have = config_value(instance.config, key);
    if (have != value)
      out.push_back({DriftKind::Limits, kind, c.id, c.name, c.lxd_name, key,
                     key + " is \"" + have + "\" in LXD; the record's resources want \"" + value + "\""});
  }
}

}  // namespace

DriftReport find_drift(const StoreSnapshot& store, const LxdSnapshot& lxd, const std::string& lxd_name_prefix) {
  DriftReport report;
  std::map<std::string, const lxd::Instance*> instances;
  for (const auto& i : lxd.instances)
    // The instance's own config: an instance merely using an lxe profile inherits its marks in
    // the expanded config, but was not made by lxe.
    if (managed(i.config)) instances[i.name] = &i;
  std::map<std::string, const lxd::Profile*> profiles;
  for (const auto& p : lxd.profiles)
    if (managed(p.config)) profiles[p.name] = &p;

  std::set<std::string> known_instances, known_profiles;
  for (const auto& s : store.sandboxes) {
    known_instances.insert(s.lxd_name);
    known_profiles.insert(s.lxd_name);
    if (!settled(s)) {
      report.skipped.push_back(s.id);
      continue;
    }
    ++report.sandboxes_compared;
    compare_sandbox(s, instances, profiles, report.items);
  }
  std::map<std::string, const SandboxRecord*> pods;  // a container's limits sit under its pod's resources
  for (const auto& s : store.sandboxes) pods[s.id] = &s;
  for (const auto& c : store.containers) {
    known_instances.insert(c.lxd_name);
    if (!settled(c)) {
      report.skipped.push_back(c.id);
      continue;
    }
    ++report.containers_compared;
    const auto pod = pods.find(c.sandbox_id);
    compare_container(c, pod == pods.end() ? nullptr : pod->second, instances, report.items);
  }

  for (const auto& [name, instance] : instances) {
    if (!in_scope(name, lxd_name_prefix)) continue;
    ++report.lxd_instances;
    if (known_instances.count(name)) continue;
    const std::string id = config_value(instance->config, model::kIdKey);
    const std::string kind = config_value(instance->config, model::kKindKey);
    // lxe's ready instances (reconcile/ready_instances.h) are no store object's: not drift. One
    // a claim's PATCH reached (a crash before its rename) is no longer marked ready, and shows.
    const bool ready_name = lxd_name_prefix.empty() ? name.find("--ready-") != std::string::npos
                                                    : model::is_ready_instance_name(lxd_name_prefix, name);
    if (ready_name && kind == "ready" && id.empty()) continue;
    report.items.push_back({DriftKind::Unknown, "instance", id, "", name, "",
                            "instance " + name + " (" + instance->status + ") is marked as lxe's (" +
                                (kind.empty() ? std::string("no kind") : kind) +
                                (id.empty() ? std::string(", no ID") : " " + id.substr(0, 12)) +
                                ") but the store does not know it"});
  }
  for (const auto& [name, profile] : profiles) {
    if (!in_scope(name, lxd_name_prefix)) continue;
    ++report.lxd_profiles;
    if (known_profiles.count(name)) continue;
    const std::string id = config_value(profile->config, model::kIdKey);
    report.items.push_back({DriftKind::Unknown, "profile", id, "", name, "",
                            "profile " + name + " is marked as lxe's (" +
                                (id.empty() ? std::string("no ID") : "sandbox " + id.substr(0, 12)) +
                                ") but the store does not know it"});
  }
  return report;
}

DriftReport persistent_drift(const DriftReport& earlier, const DriftReport& later) {
  std::set<std::string> before;
  for (const auto& item : earlier.items) before.insert(item.key());
  DriftReport out = later;
  out.items.clear();
  for (const auto& item : later.items)
    if (before.count(item.key())) out.items.push_back(item);
  return out;
}

nlohmann::json drift_json(const DriftReport& report) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& i : report.items)
    items.push_back({{"kind", to_string(i.kind)},
                     {"objectKind", i.object_kind},
                     {"id", i.id},
                     {"name", i.name},
                     {"lxdName", i.lxd_name},
                     {"aspect", i.aspect},
                     {"detail", i.detail}});
  return {{"drift", items},
          {"skipped", report.skipped},
          {"compared",
           {{"sandboxes", report.sandboxes_compared},
            {"containers", report.containers_compared},
            {"lxdInstances", report.lxd_instances},
            {"lxdProfiles", report.lxd_profiles}}}};
}

}  // namespace lxe::ctl
