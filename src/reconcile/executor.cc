#include "reconcile/executor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "common/time.h"
#include "reconcile/cgroup_cleanup.h"
#include "reconcile/errors.h"
#include "model/naming.h"
#include "model/stored_config.h"
#include "model/ipv4.h"
#include "model/sysctls.h"
#include "reconcile/pause_image.h"
#include "reconcile/pinned_namespaces.h"
#include "reconcile/pod_network.h"
#include "reconcile/workload_stop.h"

namespace lxe::reconcile {

using store::ContainerRecord;
using store::SandboxRecord;

namespace {

// After a container's instance stopped: what a shared PID namespace kept alive of it
// (cgroup_cleanup.h).
void kill_leftovers(const ContainerRecord& container, const std::string& cgroup_root) {
  if (const int killed = kill_cgroup_leftovers(container.lxd_name, cgroup_root); killed > 0)
    spdlog::info("container {}: killed {} process(es) left in its cgroup after its init ended", container.id, killed);
}

// Stops a running instance by killing every process in its cgroup, and returns once they are gone:
// LXD notices its init died and tears the instance down by itself (~0.75 s here), off the
// caller's path, where its forced stop would make the caller wait for that teardown too
// (docs/benchmarks.md). Through LXD where lxe finds no cgroup of the instance.
void kill_instance(const lxd::Api& lxd, const std::string& name, const std::string& cgroup_root) {
  if (kill_cgroup_processes(name, 0, cgroup_root)) return;
  lxd.stop_instance(name, lxd::StopMode::Force);
}

// A container of a pod whose namespaces lxe pinned joins the pinned user namespace, so LXD must
// have given it the same ID map, or LXC cannot even open its rootfs. LXD gives every container
// that is not isolated its default map (pinned_namespaces.h reads it the way LXD does); a host
// that differs is told precisely instead.
void check_pinned_idmap(const lxd::Instance& instance, const std::vector<IdRange>& pinned) {
  const auto it = instance.config.find("volatile.idmap.next");
  if (it == instance.config.end() || it->second.empty()) return;  // LXD did not say: the start will tell
  // Compared as the maps the kernel gets (LXD may list a range for uids and gids in one entry).
  const auto given = parse_lxd_idmap(it->second);
  if (id_map_file(given, true) == id_map_file(pinned, true) && id_map_file(given, false) == id_map_file(pinned, false))
    return;
  throw std::runtime_error("LXD gave instance " + instance.name + " the ID map " + it->second +
                           ", not the one lxe pinned the pod's user namespace with (" + id_map_file(pinned, true) +
                           "): run lxe with --pod-namespaces holder on this host");
}

// How long a delete waits for LXD to finish tearing down an instance whose processes are gone.
constexpr auto kTeardownWait = std::chrono::seconds(10);

// Deletes an instance; missing is fine. After its processes died, LXD refuses while it tears the
// instance down (~0.75 s here, 0.5 s of it lxcfs's post-stop hook, a `sleep 0.5s`): "busy running
// a stop operation", or "Instance is running" before it noticed. Both are waited out, up to
// kTeardownWait.
void delete_after_teardown(const lxd::Api& lxd, const std::string& name) {
  const auto deadline = std::chrono::steady_clock::now() + kTeardownWait;
  while (true) {
    try {
      lxd.delete_instance(name);
      return;
    } catch (const lxd::Error& e) {
      if (e.kind() == lxd::ErrorKind::NotFound) return;
      const bool tearing_down = e.kind() == lxd::ErrorKind::Busy ||
                                (e.kind() == lxd::ErrorKind::BadRequest &&
                                 std::string_view(e.what()).find("is running") != std::string_view::npos);
      if (!tearing_down || std::chrono::steady_clock::now() >= deadline) throw;
    }
    // Every refused delete is an LXD operation made and failed: not too often.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool owned_by(const lxd::Config& config, const std::string& id) {
  const auto managed = config.find(model::kManagedKey);
  const auto owner = config.find(model::kIdKey);
  return managed != config.end() && managed->second == "true" && owner != config.end() && owner->second == id;
}

}  // namespace

Executor::Executor(store::Registry& registry, const lxd::Api& lxd, const HostFiles& files,
                   const Volumes& volumes, MappingOptions options, CrashPoints crash_points,
                   ReconcileObserver* observer)
    : registry_(registry), lxd_(lxd), files_(files), volumes_(volumes), options_(std::move(options)),
      crash_points_(std::move(crash_points)), observer_(observer) {}

void Executor::observed(const Action& action, bool ok, std::chrono::steady_clock::time_point started) const {
  if (observer_) observer_->on_action(to_string(action.kind), ok, std::chrono::steady_clock::now() - started);
}

void Executor::ensure_pause_image() const {
  try {
    lxd_.get_image_alias(options_.pause_image_alias);
    return;
  } catch (const lxd::Error& e) {
    if (e.kind() != lxd::ErrorKind::NotFound) throw;
  }
  spdlog::info("importing the pod namespace holder image as '{}'", options_.pause_image_alias);
  lxd_.import_image(make_pause_image_tarball(), options_.pause_image_alias,
                    {{"description", "lxe pod namespace holder"}, {"lxe.managed", "true"}});
}

class Executor::ChangeMark {
 public:
  ChangeMark(Executor& executor, std::string name) : executor_(executor), name_(std::move(name)) {
    std::lock_guard lock(executor_.primed_mutex_);
    executor_.changed_until_[name_] = std::chrono::steady_clock::time_point::max();
  }
  ~ChangeMark() {
    std::lock_guard lock(executor_.primed_mutex_);
    const bool prime_in_play =
        executor_.listings_ > 0 || !executor_.primed_instances_.empty() || !executor_.primed_profiles_.empty();
    if (prime_in_play)
      executor_.changed_until_[name_] = std::chrono::steady_clock::now();
    else
      executor_.changed_until_.erase(name_);
  }
  ChangeMark(const ChangeMark&) = delete;
  ChangeMark& operator=(const ChangeMark&) = delete;

 private:
  Executor& executor_;
  std::string name_;
};

void Executor::prime(const std::function<Lists()>& list) {
  std::chrono::steady_clock::time_point asked_at;
  {
    std::lock_guard lock(primed_mutex_);
    ++listings_;
    asked_at = std::chrono::steady_clock::now();
  }
  Lists lists;
  try {
    lists = list();
  } catch (...) {
    std::lock_guard lock(primed_mutex_);
    --listings_;
    throw;
  }
  std::lock_guard lock(primed_mutex_);
  --listings_;
  primed_instances_.clear();
  primed_profiles_.clear();
  for (auto& i : lists.first) primed_instances_.emplace(i.name, std::move(i));
  for (auto& p : lists.second)
    if (p.config.count(model::kManagedKey) != 0) primed_profiles_.emplace(p.name, std::move(p));
  primed_at_ = asked_at;
  // Changes finished before the lists were asked for show in them.
  for (auto it = changed_until_.begin(); it != changed_until_.end();)
    it = it->second < asked_at ? changed_until_.erase(it) : std::next(it);
}

void Executor::forget_primed(const std::string& name) {
  std::lock_guard lock(primed_mutex_);
  primed_instances_.erase(name);
  primed_profiles_.erase(name);
}

bool Executor::primed_usable(const std::string& name) const {
  if (std::chrono::steady_clock::now() - primed_at_ >= kPrimedLifetime) return false;
  const auto changed = changed_until_.find(name);
  return changed == changed_until_.end() || changed->second < primed_at_;
}

lxd::Instance Executor::get_instance(const std::string& name) const {
  {
    std::lock_guard lock(primed_mutex_);
    const auto it = primed_instances_.find(name);
    if (it != primed_instances_.end()) {
      lxd::Instance primed = std::move(it->second);
      primed_instances_.erase(it);
      if (primed_usable(name)) return primed;
    }
  }
  return lxd_.get_instance(name);
}

lxd::Profile Executor::get_profile(const std::string& name) const {
  {
    std::lock_guard lock(primed_mutex_);
    const auto it = primed_profiles_.find(name);
    if (it != primed_profiles_.end()) {
      lxd::Profile primed = std::move(it->second);
      primed_profiles_.erase(it);
      if (primed_usable(name)) return primed;
    }
  }
  return lxd_.get_profile(name);
}

std::optional<InstanceFacts> Executor::instance_facts(const std::string& name, const std::string& id,
                                                      lxd::Devices* devices) const {
  try {
    lxd::Instance instance = get_instance(name);
    if (!owned_by(instance.config, id))
      throw lxd::Error(lxd::ErrorKind::Conflict,
                       "LXD instance " + name + " exists but was not created by lxe for " + id + "; lxe leaves it alone");
    InstanceFacts facts;
    facts.running = instance.running();
    const auto raw = instance.config.find("raw.lxc");
    if (raw != instance.config.end()) facts.raw_lxc = raw->second;
    for (const auto& [key, value] : instance.config)
      if (key.rfind("limits.", 0) == 0) facts.limits[key] = value;
    if (devices) *devices = std::move(instance.devices);
    return facts;
  } catch (const lxd::Error& e) {
    if (e.kind() == lxd::ErrorKind::NotFound) return std::nullopt;
    throw;
  }
}

SandboxObservation Executor::observe_sandbox(const SandboxRecord& sandbox) const {
  SandboxObservation o;
  try {
    const lxd::Profile profile = get_profile(sandbox.lxd_name);
    if (!owned_by(profile.config, sandbox.id))
      throw lxd::Error(lxd::ErrorKind::Conflict, "LXD profile " + sandbox.lxd_name +
                                                     " exists but was not created by lxe; lxe leaves it alone");
    o.profile_exists = true;
    const auto wanted = sandbox_profile(sandbox, model::parse_sandbox_config(sandbox.config_json), files_, options_);
    o.drifted_profile_devices = drifted_devices(wanted.devices, profile.devices);
  } catch (const lxd::Error& e) {
    if (e.kind() != lxd::ErrorKind::NotFound) throw;
  }
  if (sandbox.pod_namespaces == store::PodNamespaces::Pinned) {
    // No holder to ask LXD about: the pins are looked at on the host.
    const std::string dir = files_.pod_namespaces_dir(sandbox.id);
    o.pinned_netns = pinned_netns_inode(dir);
    if (o.pinned_netns && *o.pinned_netns == sandbox.pinned_netns && has_pod_interface(sandbox))
      if (const auto seen = look_at_pod_interface(sandbox, pinned_namespace_files(dir).network))
        o.pod_interface_present = seen->present;
    return o;
  }
  lxd::Devices holder_devices;
  o.infra = instance_facts(sandbox.lxd_name, sandbox.id, &holder_devices);
  if (o.infra && sandbox.desired_state == store::SandboxState::Ready) {
    // The holder's NIC and proxies (lxe-init is needed only when the holder starts, never twice).
    auto wanted = infra_instance(sandbox, model::parse_sandbox_config(sandbox.config_json), files_, options_).devices;
    wanted.erase("lxe-init");
    o.drifted_holder_devices = drifted_devices(wanted, holder_devices);
    remember_device_names(sandbox.lxd_name, wanted);
    if (o.infra->running && has_pod_interface(sandbox)) {
      if (const auto seen = look_at_pod_interface(sandbox, holder_netns(sandbox.infra_pid))) {
        o.pod_interface_present = seen->present;
        if (!set_up_by_cni(sandbox)) o.pod_address_present = seen->has_address;
      }
    }
  }
  return o;
}

ContainerObservation Executor::observe_container(const ContainerRecord& container,
                                                 const SandboxRecord& sandbox) const {
  ContainerObservation o = observe_container_files(container);
  lxd::Devices devices;
  o.instance = instance_facts(container.lxd_name, container.id, &devices);
  const auto config = model::parse_container_config(container.config_json);
  o.mounts = config.mounts_size();
  if (sandbox.pod_namespaces == store::PodNamespaces::Pinned)
    o.pod_refs = pod_namespace_refs(sandbox, files_.pod_namespaces_dir(sandbox.id));
  if (o.instance) {
    const auto wanted = container_instance(container, config, sandbox, model::parse_sandbox_config(sandbox.config_json),
                                           files_, options_, volumes_.layout(container.id, config))
                            .devices;
    o.drifted_devices = drifted_devices(wanted, devices);
    remember_device_names(container.lxd_name, wanted);
    if (o.instance->running) o.unstaged_volumes = volumes_.unstaged(container.id, config);
  }
  return o;
}

void Executor::remember_device_names(const std::string& lxd_name, const lxd::Devices& wanted) const {
  std::set<std::string> names;
  for (const auto& [name, device] : wanted)
    if (name != kRootDevice) names.insert(name);
  std::lock_guard lock(device_names_mutex_);
  device_names_[lxd_name] = std::move(names);
}

void Executor::forget_device_names(const std::string& lxd_name) const {
  std::lock_guard lock(device_names_mutex_);
  device_names_.erase(lxd_name);
}

bool Executor::lacks_devices(const std::string& lxd_name, const lxd::Devices& listed) const {
  std::lock_guard lock(device_names_mutex_);
  const auto it = device_names_.find(lxd_name);
  if (it == device_names_.end()) return false;
  for (const auto& name : it->second)
    if (listed.count(name) == 0) return true;
  return false;
}

int64_t Executor::holder_init_pid(const SandboxRecord& sandbox) const {
  if (const auto pid = cgroup_init_pid(sandbox.lxd_name, options_.cgroup_root)) return *pid;
  return lxd_.get_instance_state(sandbox.lxd_name).pid;
}

ContainerObservation Executor::observe_container_for_removal(const ContainerRecord& container) const {
  ContainerObservation o = observe_container_files(container);
  if (has_cgroup(container.lxd_name, options_.cgroup_root)) {
    o.instance = InstanceFacts{};
    o.instance->running = true;
    return o;
  }
  o.instance = instance_facts(container.lxd_name, container.id);
  return o;
}

ContainerObservation Executor::observe_container_files(const ContainerRecord& container) const {
  ContainerObservation o;
  o.started_at = files_.read_started_at(container.id);
  o.exit = files_.read_exit(container.id);
  return o;
}

void Executor::do_sandbox_action(const Action& action, const SandboxRecord& sandbox,
                                 const runtime::v1::PodSandboxConfig& config, SandboxActionResult& result) {
  switch (action.kind) {
    case ActionKind::CreateProfile: {
      const std::string dns = resolv_conf(config);
      if (!dns.empty()) {
        make_dirs(files_.sandbox_dir(sandbox.id));
        write_file_atomic(files_.sandbox_dir(sandbox.id) + "/resolv.conf", dns, 0644);
      }
      try {
        lxd_.create_profile(sandbox_profile(sandbox, config, files_, options_));
      } catch (const lxd::Error& e) {
        // Made by an earlier attempt that crashed before it was recorded: fine if it is ours.
        if (e.kind() != lxd::ErrorKind::Conflict || !owned_by(lxd_.get_profile(sandbox.lxd_name).config, sandbox.id))
          throw;
      }
      break;
    }
    case ActionKind::CreateInfra:
      ensure_pause_image();
      lxd_.create_instance(infra_instance(sandbox, config, files_, options_));
      break;
    case ActionKind::StartInfra:
      try {
        lxd_.start_instance(sandbox.lxd_name);
      } catch (const lxd::Error& e) {
        // LXC applies the pod's sysctls as the holder starts; LXD's answer does not say that one
        // was refused (a group range beyond the container's ID map, a value out of range).
        std::string sysctls;
        for (const auto& [key, value] : model::pod_sysctls(config))
          sysctls += (sysctls.empty() ? "" : ", ") + key + "=" + value;
        if (sysctls.empty()) throw;
        throw lxd::Error(e.kind(), std::string(e.what()) + " (the pod's sysctls " + sysctls +
                                       " are applied as it starts: one the kernel refuses in the pod's namespaces "
                                       "fails the start; the instance's lxc.log names it)",
                         e.http_status());
      }
      break;
    case ActionKind::RecordInfraPid:
      result.infra_pid = holder_init_pid(sandbox);
      if (result.infra_pid <= 0)
        throw lxd::Error(lxd::ErrorKind::Server, "the namespace holder of " + sandbox.lxd_name + " has no PID");
      break;
    case ActionKind::RestoreDevices: {
      const auto wanted = sandbox_profile(sandbox, config, files_, options_).devices;
      nlohmann::json devices = nlohmann::json::object();
      for (const auto& name : drifted_devices(wanted, lxd_.get_profile(sandbox.lxd_name).devices))
        devices[name] = wanted.at(name);
      if (!devices.empty()) lxd_.patch_profile(sandbox.lxd_name, {{"devices", devices}});
      break;
    }
    case ActionKind::StopInfra:
      // The holder keeps nothing worth a clean shutdown: its processes are killed, and LXD's
      // teardown of the instance runs on its own, off the caller's path.
      kill_instance(lxd_, sandbox.lxd_name, options_.cgroup_root);
      break;
    case ActionKind::DeleteInfra:
      forget_device_names(sandbox.lxd_name);
      delete_after_teardown(lxd_, sandbox.lxd_name);
      break;
    case ActionKind::DeleteProfile:
      try {
        lxd_.delete_profile(sandbox.lxd_name);
      } catch (const lxd::Error& e) {
        if (e.kind() != lxd::ErrorKind::NotFound) throw;
      }
      break;
    case ActionKind::PinNamespaces:
      result.pinned_netns = pin_pod_namespaces(files_.pod_namespaces_dir(sandbox.id), options_.pod_idmap);
      break;
    case ActionKind::UnpinNamespaces:
      unpin_pod_namespaces(files_.pod_namespaces_dir(sandbox.id));
      break;
    case ActionKind::EraseRecord:
      unpin_pod_namespaces(files_.pod_namespaces_dir(sandbox.id));  // (gone by now, but never left mounted)
      files_.remove_sandbox_dir(sandbox.id);
      break;
    case ActionKind::NetworkAdd:
      network_add(sandbox, config, result);
      break;
    case ActionKind::RestoreHolderNetwork: {
      auto wanted = infra_instance(sandbox, config, files_, options_).devices;
      wanted.erase("lxe-init");
      nlohmann::json devices = nlohmann::json::object();
      for (const auto& name : drifted_devices(wanted, lxd_.get_instance(sandbox.lxd_name).devices))
        devices[name] = wanted.at(name);
      if (!devices.empty()) lxd_.patch_instance(sandbox.lxd_name, {{"devices", devices}});
      // A NIC LXD plugs into a running holder comes up bare: the stored address and route, as
      // LXC set them at the start.
      if (const auto address = model::parse_pod_address(sandbox.pod_ip); address && pod_nic(sandbox)) {
        const auto r = lxd_.exec(sandbox.lxd_name,
                                 {kInitPathInContainer, "ifup", kPodNicDevice,
                                  model::ipv4_to_string(address->address) + "/" + std::to_string(address->subnet.prefix),
                                  model::ipv4_to_string(address->subnet.gateway())},
                                 {}, "", std::chrono::seconds(30));
        if (r.exit_code != 0)
          throw std::runtime_error("setting the pod's address on eth0 again failed: " + r.stderr_data);
      }
      break;
    }
    case ActionKind::NetworkDel:
      network_del(sandbox, config);
      break;
    default:
      break;  // record-only actions
  }
}

namespace {

cni::PodRef cni_pod(const SandboxRecord& sandbox) {
  return {sandbox.id, sandbox.name, sandbox.namespace_, sandbox.uid};
}

std::vector<cni::PortMapping> cni_ports(const runtime::v1::PodSandboxConfig& config) {
  std::vector<cni::PortMapping> ports;
  for (const auto& p : config.port_mappings()) {
    if (p.host_port() <= 0) continue;
    const char* protocol = p.protocol() == runtime::v1::UDP ? "udp" : p.protocol() == runtime::v1::SCTP ? "sctp" : "tcp";
    ports.push_back({p.host_port(), p.container_port(), protocol, p.host_ip()});
  }
  return ports;
}

}  // namespace

void Executor::network_add(const SandboxRecord& planned, const runtime::v1::PodSandboxConfig& config,
                           SandboxActionResult& result) {
  // The holder's PID or the pins as recorded by now (this plan may have made them).
  const auto current = registry_.sandbox(planned.id);
  const std::string netns = current ? pod_netns(*current, files_.pod_namespaces_dir(planned.id)) : "";
  if (netns.empty())
    throw std::runtime_error(planned.pod_namespaces == store::PodNamespaces::Pinned
                                 ? "CNI ADD: the pod's network namespace is not pinned"
                                 : "CNI ADD: the pod's namespace holder is not running");
  const auto network = cni::Network::from_json(nlohmann::json::parse(planned.cni_network));
  if (planned.cni_state == "adding") {
    // An ADD that lxe started and never saw finish (a crash, or a failure): the plugins may hold
    // an address or rules for this pod. DEL releases them before ADD runs again.
    try {
      cni::del(options_.cni, network, cni_pod(planned), netns, nullptr, cni_ports(config));
    } catch (const cni::Error& e) {
      spdlog::warn("sandbox {}: CNI DEL before a new ADD: {}", planned.id.substr(0, 12), e.what());
    }
  }
  const auto added = cni::add(options_.cni, network, cni_pod(planned), netns, cni_ports(config));
  const auto addresses = cni::result_addresses(added);
  if (addresses.empty()) {
    try {
      cni::del(options_.cni, network, cni_pod(planned), netns, added, cni_ports(config));
    } catch (const cni::Error&) {
    }
    throw cni::Error("CNI ADD of network " + network.name + " gave the pod no address");
  }
  result.cni_result = added.dump();
  result.pod_ip = addresses.front();
}

void Executor::network_del(const SandboxRecord& planned, const runtime::v1::PodSandboxConfig& config) {
  const auto current = registry_.sandbox(planned.id);
  const auto network = cni::Network::from_json(nlohmann::json::parse(planned.cni_network));
  const auto prev = planned.cni_result.empty() ? nlohmann::json() : nlohmann::json::parse(planned.cni_result, nullptr, false);
  cni::del(options_.cni, network, cni_pod(planned), current ? pod_netns(*current, files_.pod_namespaces_dir(planned.id)) : "",
           prev.is_discarded() ? nlohmann::json() : prev, cni_ports(config));
}

std::string Executor::do_container_action(const Action& action, const ContainerRecord& container,
                                          const runtime::v1::ContainerConfig& config, const SandboxRecord& sandbox,
                                          const runtime::v1::PodSandboxConfig& sandbox_config) {
  switch (action.kind) {
    case ActionKind::CreateInstance: {
      const std::string dir = files_.container_dir(container.id);
      make_dirs(dir);
      files_.clear_run_records(container.id);
      if (!runs_image_init(container, config))
        write_file_atomic(dir + "/spec.json", init_spec(container, config, sandbox, sandbox_config).dump(2), 0644);
      if (!container.log_path.empty()) {
        make_dirs(std::filesystem::path(container.log_path).parent_path().string());
        if (!std::filesystem::exists(container.log_path)) write_file_atomic(container.log_path, "", 0640);
      }
      volumes_.make_mount_points(container.id, config);
      const auto spec = container_instance(container, config, sandbox, sandbox_config, files_, options_,
                                           volumes_.layout(container.id, config));
      std::string detail;
      std::optional<lxd::Instance> claimed;  // what LXD has now, known without asking
      const auto ready = ready_ && !container.image_ref.empty() ? ready_->take(container.image_ref) : std::nullopt;
      if (ready && claim_ready_instance(*ready, spec)) {
        detail = "made of ready instance " + ready->name;
        claimed.emplace();
        claimed->name = spec.name;
        claimed->config = ready->config;
        for (const auto& [key, value] : spec.config) claimed->config[key] = value;
      } else {
        try {
          lxd_.create_instance(spec);
        } catch (const lxd::Error& e) {
          if (e.kind() != lxd::ErrorKind::Conflict || !instance_facts(container.lxd_name, container.id)) throw;
        }
      }
      if (ready_) ready_->used(container.image_ref);
      // The container's root writes its state and log files: give them to its host UID.
      const auto instance = claimed ? *claimed : lxd_.get_instance(container.lxd_name);
      if (sandbox.pod_namespaces == store::PodNamespaces::Pinned) {
        try {
          check_pinned_idmap(instance, options_.pod_idmap);
        } catch (const std::runtime_error&) {
          // Deleted again, so that every retry meets the same refusal: an instance left behind
          // would be taken as created, and fail only at its start.
          try {
            lxd_.delete_instance(container.lxd_name);
          } catch (const lxd::Error& e) {
            spdlog::warn("container {}: cannot delete instance {} with the wrong ID map: {}", container.id.substr(0, 12),
                         container.lxd_name, e.what());
          }
          throw;
        }
      }
      const auto [uid, gid] = root_host_ids(instance);
      change_owner(dir, uid, gid);
      if (!container.log_path.empty()) change_owner(container.log_path, uid, gid);
      return detail;
    }
    case ActionKind::SyncNamespaces:
      lxd_.patch_instance(container.lxd_name,
                          {{"config", {{"raw.lxc", container_raw_lxc(container, config, sandbox, sandbox_config, files_, options_)}}}});
      break;
    case ActionKind::RestoreDevices: {
      // Only what differs: LXD re-plugs each device it is sent, and an unchanged one needs nothing.
      const auto wanted = container_instance(container, config, sandbox, sandbox_config, files_, options_,
                                             volumes_.layout(container.id, config))
                              .devices;
      nlohmann::json devices = nlohmann::json::object();
      for (const auto& name : drifted_devices(wanted, lxd_.get_instance(container.lxd_name).devices))
        devices[name] = wanted.at(name);
      if (!devices.empty()) lxd_.patch_instance(container.lxd_name, {{"devices", devices}});
      break;
    }
    case ActionKind::StageVolumes: {
      std::string detail;
      for (const auto& note : stage_volumes(volumes_, lxd_, files_, container, config)) {
        spdlog::warn("container {}: volumes: {}", container.id.substr(0, 12), note);
        detail += (detail.empty() ? "" : "; ") + note;
      }
      return detail;
    }
    case ActionKind::ApplyLimits:
      for (const auto& patch : limit_patches(container_limits(container, sandbox), true))
        lxd_.patch_instance(container.lxd_name, {{"config", patch}});
      break;
    case ActionKind::StartInstance:
      files_.clear_run_records(container.id);
      lxd_.start_instance(container.lxd_name);
      break;
    case ActionKind::StopInstance:
      // lxe-init stops the workload and records its exit; LXD's stop (which waits out its ~0.75 s
      // of teardown) only for a system container's own init, and for an lxe-init that cannot do it.
      if (!runs_image_init(container, config)) {
        if (auto detail = stop_through_init(container)) return *detail;
      }
      if (container.stop_timeout > 0)
        lxd_.stop_instance(container.lxd_name, lxd::StopMode::Graceful, std::chrono::seconds(container.stop_timeout));
      else
        lxd_.stop_instance(container.lxd_name, lxd::StopMode::Force);
      kill_leftovers(container, options_.cgroup_root);
      break;
    case ActionKind::KillInstance:
      kill_instance(lxd_, container.lxd_name, options_.cgroup_root);
      break;
    case ActionKind::DeleteInstance:
      delete_after_teardown(lxd_, container.lxd_name);
      break;
    case ActionKind::EraseRecord:
      forget_device_names(container.lxd_name);
      volumes_.remove(container.id);
      files_.remove_container_dir(container.id);
      break;
    default:
      break;  // record-only actions
  }
  return "";
}

bool Executor::claim_ready_instance(const ReadyInstance& ready, const lxd::InstanceSpec& spec) const {
  // The PATCH first, the rename last: until the rename the container's name is free, and a crash
  // in between only leaves garbage under a ready name (ready_instances.h).
  try {
    lxd_.patch_instance(ready.name, claim_patch(spec, ready.config));
    crash_points_.hit("patched:claim-ready-instance");
    lxd_.rename_instance(ready.name, spec.name);
  } catch (const lxd::Error& e) {
    spdlog::warn("{}: cannot claim ready instance {} ({}); creating one", spec.name, ready.name, e.what());
    ready_->claimed(ready.name, false);
    return false;
  }
  ready_->claimed(ready.name, true);
  return true;
}

std::optional<std::string> Executor::stop_through_init(const ContainerRecord& container) const {
  const auto grace = static_cast<uint32_t>(std::clamp<int64_t>(container.stop_timeout, 0, UINT32_MAX));
  const auto stop = stop_workload(files_.attach_socket(container.id), grace);
  using Result = WorkloadStop::Result;
  if (stop.result != Result::Stopped && !(stop.result == Result::Lost && files_.read_exit(container.id))) {
    spdlog::info("container {}: stopping through LXD: {}", container.id.substr(0, 12), stop.detail);
    return std::nullopt;
  }
  // What a shared PID namespace kept of the container (processes exec'd into it), lxe-init
  // spared: it exits by itself once its attach clients have the exit code.
  const auto killed = kill_cgroup_processes(container.lxd_name, stop.init_pid, options_.cgroup_root);
  std::string detail = "lxe-init stopped the workload";
  if (killed && *killed > 0) detail += "; killed " + std::to_string(*killed) + " process(es) left in its cgroup";
  return detail;
}

namespace {

store::ReconcileEvent event_for(store::ObjectKind kind, const std::string& id, int64_t generation,
                                const Action& action, store::EventOutcome outcome, const std::string& detail) {
  store::ReconcileEvent e;
  e.object_kind = kind;
  e.object_id = id;
  e.generation = generation;
  e.action = std::string(to_string(action.kind));
  e.outcome = outcome;
  e.detail = detail.empty() ? action.reason : action.reason + ": " + detail;
  return e;
}

}  // namespace

Outcome Executor::run(const SandboxRecord& planned, const std::vector<Action>& plan) {
  if (plan.size() == 1 && plan[0].kind == ActionKind::Wait) return Outcome::Waiting;
  const ChangeMark changing(*this, planned.lxd_name);
  const auto config = model::parse_sandbox_config(planned.config_json);
  for (const Action& action : plan) {
    SandboxActionResult result;
    Failure failure;
    const std::string name(to_string(action.kind));
    crash_points_.hit("before:" + name);
    const auto started = std::chrono::steady_clock::now();
    try {
      do_sandbox_action(action, planned, config, result);
      crash_points_.hit("after:" + name);
    } catch (const std::exception& e) {
      failure = failure_of(e);
    }
    observed(action, failure.kind == store::FailureKind::None, started);
    store::Registry::Change change(registry_);
    auto current = change.sandbox(planned.id);
    if (!current) return Outcome::Done;
    if (failure.kind != store::FailureKind::None) {
      spdlog::warn("sandbox {}: {} failed: {}", planned.id.substr(0, 12), to_string(action.kind), failure.message);
      change.log(event_for(store::ObjectKind::Sandbox, planned.id, planned.generation, action,
                           store::EventOutcome::Error, failure.message));
      // An error belongs to the generation that produced it: when the desired state moved on while
      // this plan ran, its failure is history (the event log), not the answer a caller waiting for
      // the new generation gets. Plan the new generation at once.
      const bool stale = current->generation != planned.generation;
      if (!stale) {
        current->set_failure(failure.kind, std::string(to_string(action.kind)) + ": " + failure.message);
        change.put(*current);
      }
      change.commit();
      return stale ? Outcome::Replan : Outcome::Failed;
    }
    switch (action.kind) {
      case ActionKind::RecordInfraPid: current->infra_pid = result.infra_pid; break;
      case ActionKind::PinNamespaces: current->pinned_netns = result.pinned_netns; break;
      case ActionKind::RecordNetworkAdding: current->cni_state = "adding"; break;
      case ActionKind::NetworkAdd:
        current->cni_state = "added";
        current->cni_result = result.cni_result;
        current->pod_ip = result.pod_ip;
        break;
      case ActionKind::NetworkDel:
        current->cni_state.clear();
        current->cni_result.clear();
        break;
      case ActionKind::RecordReady: current->observed_state = store::SandboxObserved::Ready; break;
      case ActionKind::RecordNotReady: current->observed_state = store::SandboxObserved::NotReady; break;
      case ActionKind::MarkReconciled:
        current->observed_generation = planned.generation;
        if (current->generation == planned.generation) current->clear_failure();
        break;
      default: break;
    }
    if (action.kind == ActionKind::EraseRecord) {
      change.erase_sandbox(planned.id);
    } else {
      change.put(*current);
    }
    change.log(event_for(store::ObjectKind::Sandbox, planned.id, planned.generation, action,
                         store::EventOutcome::Ok,
                         action.kind == ActionKind::RecordInfraPid  ? "pid " + std::to_string(result.infra_pid)
                         : action.kind == ActionKind::PinNamespaces ? "netns " + std::to_string(result.pinned_netns)
                         : action.kind == ActionKind::NetworkAdd   ? "address " + result.pod_ip
                                                                   : ""));
    change.commit();
    crash_points_.hit("committed:" + name);
    if (action.kind == ActionKind::EraseRecord) return Outcome::Done;
    if (current->generation != planned.generation) return Outcome::Replan;
  }
  return Outcome::Done;
}

Outcome Executor::run(const ContainerRecord& planned, const SandboxRecord& sandbox, const std::vector<Action>& plan) {
  if (plan.size() == 1 && plan[0].kind == ActionKind::Wait) return Outcome::Waiting;
  const ChangeMark changing(*this, planned.lxd_name);
  const auto config = model::parse_container_config(planned.config_json);
  const auto sandbox_config = model::parse_sandbox_config(sandbox.config_json);
  bool stopped_gracefully = false;
  bool started_here = false;  // this plan started the instance
  for (const Action& action : plan) {
    Failure failure;
    std::string detail;
    const std::string name(to_string(action.kind));
    crash_points_.hit("before:" + name);
    // What lxe-init wrote on the host, read before the registry's write lock is taken: file I/O
    // under it would hold up every CRI call that writes.
    std::optional<int64_t> started_at;
    std::string process_user;
    std::optional<ExitRecord> exit;
    const auto started = std::chrono::steady_clock::now();
    try {
      detail = do_container_action(action, planned, config, sandbox, sandbox_config);
      crash_points_.hit("after:" + name);
      if (action.kind == ActionKind::StopInstance) stopped_gracefully = planned.stop_timeout > 0;
      if (action.kind == ActionKind::StartInstance) started_here = true;
      if (action.kind == ActionKind::RecordStarted) {
        started_at = files_.read_started_at(planned.id);
        // lxe-init writes started.json right after it forks the workload, moments after LXD
        // reports the start; exit.json instead when it could not start it.
        const auto deadline = std::chrono::steady_clock::now() + options_.started_record_wait;
        while (!started_at && started_here && !runs_image_init(planned, config) &&
               std::chrono::steady_clock::now() < deadline && !files_.read_exit(planned.id)) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          started_at = files_.read_started_at(planned.id);
        }
        process_user = files_.read_started_user(planned.id);
      }
      if (action.kind == ActionKind::RecordExit) exit = files_.read_exit(planned.id);
    } catch (const std::exception& e) {
      failure = failure_of(e);
    }
    observed(action, failure.kind == store::FailureKind::None, started);
    store::Registry::Change change(registry_);
    auto current = change.container(planned.id);
    if (!current) return Outcome::Done;
    if (failure.kind != store::FailureKind::None) {
      spdlog::warn("container {}: {} failed: {}", planned.id.substr(0, 12), to_string(action.kind), failure.message);
      change.log(event_for(store::ObjectKind::Container, planned.id, planned.generation, action,
                           store::EventOutcome::Error, failure.message));
      // An error belongs to the generation that produced it: when the desired state moved on while
      // this plan ran, its failure is history (the event log), not the answer a caller waiting for
      // the new generation gets. Plan the new generation at once.
      const bool stale = current->generation != planned.generation;
      if (!stale) {
        current->set_failure(failure.kind, std::string(to_string(action.kind)) + ": " + failure.message);
        change.put(*current);
      }
      change.commit();
      return stale ? Outcome::Replan : Outcome::Failed;
    }
    switch (action.kind) {
      case ActionKind::RecordCreated: current->observed_state = store::ContainerObserved::Created; break;
      case ActionKind::RecordStarted:
        current->started_at = started_at.value_or(now_ns());
        current->process_user = process_user;
        current->observed_state = store::ContainerObserved::Running;
        break;
      case ActionKind::RecordExit: {
        if (exit) {
          current->exit_code = exit->exit_code;
          current->finished_at = exit->finished_at != 0 ? exit->finished_at : now_ns();
          // The command's own end, unless the instance went away outside lxe afterwards.
          current->message = action.reason == kDeletedOutside ? action.reason : "";
        } else if (runs_image_init(*current, config) && stopped_gracefully) {
          current->exit_code = 0;  // the image's init shut down cleanly when asked to
          current->finished_at = now_ns();
        } else {
          // No exit record: the container was killed (forced stop) or removed outside lxe.
          current->exit_code = 137;
          current->finished_at = now_ns();
          current->message = action.reason;
        }
        current->reason = exit && exit->oom_killed ? "OOMKilled" : current->exit_code == 0 ? "Completed" : "Error";
        current->observed_state = store::ContainerObserved::Exited;
        detail = "exit code " + std::to_string(current->exit_code);
        break;
      }
      case ActionKind::MarkReconciled:
        current->observed_generation = planned.generation;
        if (current->generation == planned.generation) current->clear_failure();
        break;
      default: break;
    }
    if (action.kind == ActionKind::EraseRecord) {
      change.erase_container(planned.id);
    } else {
      change.put(*current);
    }
    change.log(event_for(store::ObjectKind::Container, planned.id, planned.generation, action,
                         store::EventOutcome::Ok, detail));
    change.commit();
    crash_points_.hit("committed:" + name);
    if (action.kind == ActionKind::EraseRecord) return Outcome::Done;
    if (current->generation != planned.generation) return Outcome::Replan;
  }
  return Outcome::Done;
}

}  // namespace lxe::reconcile
