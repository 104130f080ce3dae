#include "reconcile/lxd_specs.h"

#include "model/image_config.h"

#include <arpa/inet.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "common/attach_protocol.h"
#include "model/ipv4.h"
#include "model/naming.h"
#include "model/capabilities.h"
#include "model/seccomp_profile.h"
#include "model/security_context.h"
#include "model/sysctls.h"
#include "reconcile/pod_network.h"

namespace lxe::reconcile {

namespace {

lxd::Config ownership_marks(const std::string& kind, const std::string& id, const std::string& sandbox_id,
                            const MappingOptions& options) {
  lxd::Config config = options.extra_config;
  config[model::kManagedKey] = "true";
  config[model::kKindKey] = kind;
  config[model::kIdKey] = id;
  config[model::kSandboxIdKey] = sandbox_id;
  return config;
}

std::map<std::string, std::string> disk(const std::string& source, const std::string& path, bool readonly) {
  std::map<std::string, std::string> d = {{"type", "disk"}, {"source", source}, {"path", path}};
  if (readonly) d["readonly"] = "true";
  return d;
}

// Instances lxe makes are started by lxe only. Left unset, LXD restarts at boot every instance
// that was running at shutdown: a pod's namespace holder would come back with a new PID (and new
// namespaces), and its containers would be started again with raw.lxc still naming the old PID,
// while CRI containers run once and a pod whose holder died is NotReady.
void never_autostart(lxd::Config& config) { config["boot.autostart"] = "false"; }

constexpr const char* kReadyKind = "ready";

}  // namespace

bool valid_hostname(std::string_view name) {
  // RFC 1123 labels joined by dots; the kernel's UTS name holds at most 64 bytes, kubelet 63.
  if (name.empty() || name.size() > 63 || name.front() == '.' || name.back() == '.') return false;
  size_t label = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '.') {
      if (label == 0 || name[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && label > 0)) return false;
    ++label;
  }
  return name.back() != '-';
}

std::string hostname_of(const store::SandboxRecord& sandbox, const runtime::v1::PodSandboxConfig& config) {
  if (valid_hostname(config.hostname())) return config.hostname();
  // No (usable) hostname given: the pod's name, made a valid hostname as kubelet would.
  std::string name = model::sanitize_name_part(sandbox.name, 63);
  return name.empty() ? "pod" : name;
}

std::string resolv_conf(const runtime::v1::PodSandboxConfig& config) {
  if (!config.has_dns_config()) return "";
  const auto& dns = config.dns_config();
  if (dns.servers().empty() && dns.searches().empty() && dns.options().empty()) return "";
  std::string text;
  for (const auto& server : dns.servers()) text += "nameserver " + server + "\n";
  if (!dns.searches().empty()) {
    text += "search";
    for (const auto& s : dns.searches()) text += " " + s;
    text += "\n";
  }
  if (!dns.options().empty()) {
    text += "options";
    for (const auto& o : dns.options()) text += " " + o;
    text += "\n";
  }
  return text;
}

namespace {

// --storage-pool: a root disk of the instance's own on lxe's pool (it overrides the default
// profile's, whose pool LXD would otherwise use).
void put_root_on_pool(lxd::InstanceSpec& spec, const MappingOptions& options) {
  if (!options.storage_pool.empty())
    spec.devices[kRootDevice] = {{"type", "disk"}, {"path", "/"}, {"pool", options.storage_pool}};
}

}  // namespace

lxd::ProfileSpec sandbox_profile(const store::SandboxRecord& sandbox, const runtime::v1::PodSandboxConfig& config,
                                 const HostFiles& files, const MappingOptions& options) {
  lxd::ProfileSpec spec;
  spec.name = sandbox.lxd_name;
  spec.description = "lxe pod " + sandbox.namespace_ + "/" + sandbox.name;
  spec.config = ownership_marks("sandbox", sandbox.id, sandbox.id, options);
  if (!resolv_conf(config).empty())
    spec.devices["lxe-resolv"] = disk(files.sandbox_dir(sandbox.id) + "/resolv.conf", "/etc/resolv.conf", true);
  return spec;
}

lxd::InstanceSpec infra_instance(const store::SandboxRecord& sandbox, const runtime::v1::PodSandboxConfig& config,
                                 const HostFiles& files, const MappingOptions& options) {
  lxd::InstanceSpec spec;
  spec.name = sandbox.lxd_name;
  spec.description = "lxe pod " + sandbox.namespace_ + "/" + sandbox.name + ": namespace holder";
  spec.profiles = {"default", sandbox.lxd_name};
  spec.config = ownership_marks("sandbox", sandbox.id, sandbox.id, options);
  never_autostart(spec.config);
  spec.config["raw.lxc"] = std::string("lxc.init.cmd = ") + kInitPathInContainer + " pause\nlxc.uts.name = " +
                           hostname_of(sandbox, config) + "\n" + pod_nic_raw_lxc(sandbox) +
                           model::sysctl_raw_lxc(config) + unprivileged_ports_raw_lxc(config) +
                           // The host's namespaces a NODE pod asks for, joined when LXC starts the holder
                           // (its containers then join the holder's, or the host's directly).
                           holder_namespace_raw_lxc(pod_namespace_modes(config), host_namespace_files(options),
                                                    sandbox.lxd_name, options.lxd_dir);
  spec.devices["lxe-init"] = disk(files.init_binary(), kInitPathInContainer, true);
  put_root_on_pool(spec, options);
  if (const auto nic = pod_nic(sandbox)) spec.devices[kPodNicDevice] = *nic;
  for (auto& [name, device] : port_proxies(sandbox, config)) spec.devices[name] = std::move(device);
  spec.source.alias = options.pause_image_alias;
  return spec;
}

namespace {

std::string protocol_name(runtime::v1::Protocol protocol) { return protocol == runtime::v1::UDP ? "udp" : "tcp"; }

// "tcp:0.0.0.0:12000", "udp:[::1]:53": LXD's listen/connect syntax.
std::string proxy_address(runtime::v1::Protocol protocol, const std::string& ip, int32_t port) {
  const bool v6 = ip.find(':') != std::string::npos;
  return protocol_name(protocol) + ":" + (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

}  // namespace

bool valid_listen_address(const std::string& address) {
  // inet_pton reads up to the first NUL: "127.0.0.1\0junk" must not pass as 127.0.0.1.
  if (address.find('\0') != std::string::npos) return false;
  in6_addr v6{};
  in_addr v4{};
  return ::inet_pton(AF_INET, address.c_str(), &v4) == 1 || ::inet_pton(AF_INET6, address.c_str(), &v6) == 1;
}

std::string port_mapping_text(const runtime::v1::PortMapping& p) {
  return std::to_string(p.host_port()) + "/" + (p.protocol() == runtime::v1::UDP ? "UDP" : "TCP") + " on " +
         (p.host_ip().empty() ? "0.0.0.0" : p.host_ip());
}

lxd::Devices port_proxies(const store::SandboxRecord& sandbox, const runtime::v1::PodSandboxConfig& config) {
  lxd::Devices devices;
  // In the host's network namespace the pod's servers listen on the host themselves; CNI pods'
  // ports are the portmap plugin's (runtimeConfig.portMappings).
  if (in_host_network(sandbox) || set_up_by_cni(sandbox)) return devices;
  const std::string target = sandbox.pod_ip.empty() ? "127.0.0.1" : model::address_part(sandbox.pod_ip);
  for (int i = 0; i < config.port_mappings_size(); ++i) {
    const auto& p = config.port_mappings(i);
    if (p.host_port() <= 0) continue;
    // Only checked mappings reach here (cri/validation); a bad one never becomes a device.
    if (!p.host_ip().empty() && !valid_listen_address(p.host_ip()))
      throw std::runtime_error("pod " + sandbox.id + ": port mapping host_ip '" + p.host_ip() + "' is not an address");
    devices["lxe-port" + std::to_string(i)] = {
        {"type", "proxy"},
        {"listen", proxy_address(p.protocol(), p.host_ip().empty() ? "0.0.0.0" : p.host_ip(), p.host_port())},
        {"connect", proxy_address(p.protocol(), target, p.container_port())},
        {"bind", "host"},
    };
  }
  return devices;
}

std::optional<std::map<std::string, std::string>> pod_nic(const store::SandboxRecord& sandbox) {
  const std::string bridge = bridge_of(sandbox.pod_network);
  if (bridge.empty() || sandbox.pod_ip.empty()) return std::nullopt;
  return std::map<std::string, std::string>{{"type", "nic"}, {"network", bridge}, {"name", "eth0"}};
}

std::string pod_nic_raw_lxc(const store::SandboxRecord& sandbox) {
  if (!pod_nic(sandbox)) return "";
  const auto address = model::parse_pod_address(sandbox.pod_ip);
  // Stored by lxe itself; a value that does not parse never reaches raw.lxc.
  if (!address) throw std::runtime_error("pod " + sandbox.id + ": stored pod_ip '" + sandbox.pod_ip + "' is malformed");
  // LXD makes the NIC LXC's first network (lxc.net.0); LXC sets its address and the default route
  // through the bridge before the holder's init runs, so the pod's network is up when it starts.
  return "lxc.net.0.ipv4.address = " + model::ipv4_to_string(address->address) + "/" +
         std::to_string(address->subnet.prefix) + " " + model::ipv4_to_string(address->subnet.broadcast()) +
         "\nlxc.net.0.ipv4.gateway = " + model::ipv4_to_string(address->subnet.gateway()) + "\n";
}

std::pair<int64_t, int64_t> root_host_ids(const lxd::Instance& instance) {
  int64_t uid = 0, gid = 0;
  for (const char* key : {"volatile.idmap.current", "volatile.idmap.next"}) {
    const auto it = instance.config.find(key);
    if (it == instance.config.end() || it->second.empty()) continue;
    const auto maps = nlohmann::json::parse(it->second, nullptr, false);
    if (!maps.is_array()) continue;
    for (const auto& m : maps) {
      if (m.value("Nsid", int64_t{-1}) != 0) continue;
      if (m.value("Isuid", false)) uid = m.value("Hostid", int64_t{0});
      if (m.value("Isgid", false)) gid = m.value("Hostid", int64_t{0});
    }
    if (uid != 0 || gid != 0) break;
  }
  return {uid, gid};
}

std::vector<IdRange> instance_idmap(const lxd::Instance& instance) {
  for (const char* key : {"volatile.idmap.current", "volatile.idmap.next"}) {
    const auto it = instance.config.find(key);
    if (it == instance.config.end() || it->second.empty()) continue;
    try {
      return parse_lxd_idmap(it->second);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error("instance " + instance.name + ": " + key + ": " + e.what());
    }
  }
  return {};
}

std::string mount_device_name(int index) { return "mount" + std::to_string(index); }

lxd::Devices mount_devices(const store::ContainerRecord& container, const runtime::v1::ContainerConfig& config,
                           const HostFiles& files, const VolumeLayout& volumes) {
  lxd::Devices devices;
  for (int n = 0; n < config.mounts_size(); ++n) {
    const auto& m = config.mounts(n);
    const bool resolved = n < static_cast<int>(volumes.container_paths.size()) && !volumes.container_paths[n].empty();
    // readonly stays on the device when the staged mount is read-only already: LXD makes its own
    // bind read-only too, so neither alone decides.
    devices[mount_device_name(n)] = disk(volumes.staged ? files.volume_stage(container.id, n) : m.host_path(),
                                         resolved ? volumes.container_paths[n] : m.container_path(), m.readonly());
  }
  return devices;
}

std::vector<std::string> drifted_devices(const lxd::Devices& wanted, const lxd::Devices& observed) {
  std::vector<std::string> out;
  for (const auto& [name, device] : wanted) {
    if (name == kRootDevice) continue;
    const auto it = observed.find(name);
    if (it == observed.end() || it->second != device) out.push_back(name);
  }
  return out;
}

bool runs_image_init(const store::ContainerRecord& container, const runtime::v1::ContainerConfig& config) {
  return container.image_defaults.empty() && config.command().empty() && config.args().empty();
}

std::vector<std::string> default_masked_paths() {
  // Kubernetes' DefaultProcMount list (the same as containerd's and runc's defaults).
  return {"/proc/asound",       "/proc/acpi",        "/proc/kcore",       "/proc/keys",
          "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
          "/proc/scsi",         "/sys/firmware",     "/sys/devices/virtual/powercap"};
}

std::vector<std::string> default_readonly_paths() {
  return {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
}

std::string security_mounts_problem(const runtime::v1::ContainerConfig& config, bool runs_image_init) {
  const auto& sc = config.linux().security_context();
  for (const auto& [field, paths] : {std::pair{"masked_paths", &sc.masked_paths()}, {"readonly_paths", &sc.readonly_paths()}}) {
    for (const auto& path : *paths) {
      if (path.empty() || path.front() != '/' || path.size() > 4096 ||
          std::any_of(path.begin(), path.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
        return std::string("security_context.") + field + " entry '" + path.substr(0, 256) +
               "' is not an absolute path of printable characters (at most 4096)";
    }
  }
  if (!runs_image_init) return "";
  const std::string why =
      " (a system container, an LXD image run without a command, runs its image's init without lxe-init, which "
      "applies it)";
  if (sc.readonly_rootfs()) return "security_context.readonly_rootfs cannot be applied" + why;
  auto listed = [](const auto& paths) { return std::vector<std::string>(paths.begin(), paths.end()); };
  if (sc.masked_paths_size() > 0 && listed(sc.masked_paths()) != default_masked_paths())
    return "security_context.masked_paths other than Kubernetes' defaults cannot be applied" + why;
  if (sc.readonly_paths_size() > 0 && listed(sc.readonly_paths()) != default_readonly_paths())
    return "security_context.readonly_paths other than Kubernetes' defaults cannot be applied" + why;
  return "";
}

std::string unprivileged_ports_raw_lxc(const runtime::v1::PodSandboxConfig& config) {
  const auto modes = pod_namespace_modes(config);
  const bool own_user_containers = modes.pid() == runtime::v1::NODE || modes.ipc() == runtime::v1::NODE;
  if (modes.network() == runtime::v1::NODE || !own_user_containers) return "";
  const auto sysctls = model::pod_sysctls(config);
  if (sysctls.count(std::string(kUnprivilegedPortStart)) > 0) return "";  // the pod's own value wins
  return "lxc.sysctl." + std::string(kUnprivilegedPortStart) + " = 0\n";
}

HostNamespaceFiles host_namespace_files(const MappingOptions& options) {
  return {options.host_netns, options.host_pidns, options.host_ipcns};
}

std::string container_raw_lxc(const store::ContainerRecord& container, const runtime::v1::ContainerConfig& config,
                              const store::SandboxRecord& sandbox, const runtime::v1::PodSandboxConfig& sandbox_config,
                              const HostFiles& files, const MappingOptions& options) {
  std::string raw;
  if (!runs_image_init(container, config))
    raw += std::string("lxc.init.cmd = ") + kInitPathInContainer + " run " + kStateDirInContainer + "/spec.json\n";
  raw += "lxc.uts.name = " + hostname_of(sandbox, sandbox_config) + "\n";
  const auto namespaces = container_namespaces(sandbox_config, config, runs_image_init(container, config));
  raw += container_namespace_raw_lxc(namespaces, pod_namespace_refs(sandbox, files.pod_namespaces_dir(sandbox.id)),
                                     host_namespace_files(options), container.lxd_name, options.lxd_dir);
  // The pod's sysctls, again (the same values) in the network and IPC namespaces it shares with the
  // holder, and in an IPC namespace of its own. From a user namespace of its own the container may
  // not write the holder's (the holder set them).
  const bool in_holder_user = namespaces.shares_holder_user();
  raw += model::sysctl_raw_lxc(sandbox_config, in_holder_user && namespaces.network == NamespaceSource::Holder,
                               namespaces.ipc == NamespaceSource::Own || in_holder_user);
  return raw;
}

// The container's image defaults as stored with it; nullopt for an LXD image. CreateContainer
// checked them, so a failure here means the record itself is damaged.
std::optional<model::ImageDefaults> image_defaults_of(const store::ContainerRecord& container) {
  if (container.image_defaults.empty()) return std::nullopt;
  return model::image_defaults_from_json(nlohmann::json::parse(container.image_defaults));
}

model::ContainerProcess process_of(const store::ContainerRecord& container, const runtime::v1::ContainerConfig& config) {
  const auto defaults = image_defaults_of(container);
  auto process = model::container_process(config, defaults ? &*defaults : nullptr);
  if (const auto* why = std::get_if<std::string>(&process))
    throw std::runtime_error("container " + container.id + " cannot run: " + *why);
  return std::get<model::ContainerProcess>(std::move(process));
}

nlohmann::json init_spec(const store::ContainerRecord& container, const runtime::v1::ContainerConfig& config,
                         const store::SandboxRecord& sandbox, const runtime::v1::PodSandboxConfig& sandbox_config) {
  const model::ContainerProcess process = process_of(container, config);
  nlohmann::json env = nlohmann::json::array();
  bool has_path = false, has_term = false;
  for (const auto& kv : process.env) {
    env.push_back(kv);
    has_path |= kv.rfind("PATH=", 0) == 0;
    has_term |= kv.rfind("TERM=", 0) == 0;
  }
  if (!has_path) env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  // A terminal program needs to know the terminal's kind; containerd gives tty containers xterm.
  if (config.tty() && !has_term) env.push_back("TERM=xterm");
  nlohmann::json spec = {
      {"args", process.args},
      {"env", env},
      {"cwd", process.cwd.empty() ? "/" : process.cwd},
      {"log_path", container.log_path.empty()
                       ? ""
                       : std::string(kLogDirInContainer) + "/" +
                             std::filesystem::path(container.log_path).filename().string()},
      {"exit_path", std::string(kStateDirInContainer) + "/exit.json"},
  };
  spec["hostname"] = hostname_of(sandbox, sandbox_config);
  // Kept by lxe-init for CRI Attach, which connects to the socket from the host side.
  spec["stdin"] = config.stdin();
  spec["stdin_once"] = config.stdin_once();
  spec["tty"] = config.tty();
  spec["attach_socket"] = std::string(kStateDirInContainer) + "/" + attach::kSocketName;
  if (process.stop_signal) spec["stop_signal"] = *process.stop_signal;  // StopContainer sends it
  // A PID namespace of the container's own: lxe-init starts the workload as its PID 1.
  if (container_namespaces(sandbox_config, config, false).pid == NamespaceSource::Own) spec["new_pid_namespace"] = true;
  const auto& sc = config.linux().security_context();
  spec["readonly_rootfs"] = sc.readonly_rootfs();
  // A privileged container sees everything; the others what they ask for, or Kubernetes' defaults
  // when they ask for nothing (as containerd does: kubelet sends the defaults itself).
  if (!sc.privileged()) {
    spec["masked_paths"] = sc.masked_paths_size() > 0
                               ? std::vector<std::string>(sc.masked_paths().begin(), sc.masked_paths().end())
                               : default_masked_paths();
    spec["readonly_paths"] = sc.readonly_paths_size() > 0
                                 ? std::vector<std::string>(sc.readonly_paths().begin(), sc.readonly_paths().end())
                                 : default_readonly_paths();
  }
  // Kubelet's OOM ranking (-997 for Guaranteed up to 1000 for BestEffort): lxe-init sets it where
  // the kernel lets the container (docs/security.md). Clamped: a record from before CreateContainer
  // checked the range must not make spec.json unreadable.
  if (const int64_t adj = resources_from_json(container.resources_json).oom_score_adj(); adj != 0)
    spec["oom_score_adj"] = std::clamp<int64_t>(adj, -1000, 1000);
  if (process.uid) spec["uid"] = *process.uid;
  if (process.gid) spec["gid"] = *process.gid;
  // Capabilities, privileged, no_new_privs, seccomp, groups (docs/security.md): lxe-init applies them.
  const auto security = model::process_security_spec(config, container.seccomp_profile, model::host_last_capability(),
                                                     model::seccomp::host_kernel_release());
  for (const auto& [key, value] : security.items()) spec[key] = value;
  return spec;
}

lxd::InstanceSpec container_instance(const store::ContainerRecord& container,
                                     const runtime::v1::ContainerConfig& config,
                                     const store::SandboxRecord& sandbox,
                                     const runtime::v1::PodSandboxConfig& sandbox_config, const HostFiles& files,
                                     const MappingOptions& options, const VolumeLayout& volumes) {
  lxd::InstanceSpec spec;
  spec.name = container.lxd_name;
  spec.description = "lxe container " + container.name + " of pod " + sandbox.namespace_ + "/" + sandbox.name;
  spec.profiles = {"default", sandbox.lxd_name};
  spec.config = ownership_marks("container", container.id, sandbox.id, options);
  never_autostart(spec.config);
  spec.config["raw.lxc"] = container_raw_lxc(container, config, sandbox, sandbox_config, files, options);
  // Unconfined means no filter at all, LXD's default denylist included (docs/security.md). The key
  // matters only when the instance starts, so containers created before keep what they have.
  if (model::runs_unconfined(config)) spec.config["security.syscalls.deny_default"] = "false";
  // environment.* reaches the image's init and every exec (ExecSync); lxe-init gets its own copy
  // through spec.json.
  // The image's env too (its PATH above all), the container's winning: the merged list.
  for (const auto& kv : process_of(container, config).env) {
    const auto eq = kv.find('=');
    if (eq != 0 && eq != std::string::npos) spec.config["environment." + kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  // The record's resources, not the config's: UpdateContainerResources may have changed them
  // before the instance was (re)created.
  for (const auto& patch : limit_patches(container_limits(container, sandbox), false))
    for (const auto& [k, v] : patch) spec.config[k] = v;
  spec.source.fingerprint = container.image_ref;
  spec.source.alias = container.image_ref.empty() ? container.image : "";

  spec.devices["lxe-init"] = disk(files.init_binary(), kInitPathInContainer, true);
  put_root_on_pool(spec, options);
  spec.devices["lxe-state"] = disk(files.container_dir(container.id), kStateDirInContainer, false);
  if (!container.log_path.empty())
    spec.devices["lxe-log"] =
        disk(std::filesystem::path(container.log_path).parent_path().string(), kLogDirInContainer, false);
  for (auto& [name, device] : mount_devices(container, config, files, volumes)) spec.devices[name] = std::move(device);
  return spec;
}

lxd::InstanceSpec ready_instance(const std::string& name, const std::string& fingerprint,
                                 const std::string& init_binary, const MappingOptions& options) {
  lxd::InstanceSpec spec;
  spec.name = name;
  spec.description = "lxe: ready for a container of image " + fingerprint.substr(0, 12);
  spec.profiles = {"default"};
  spec.config = ownership_marks(kReadyKind, "", "", options);
  spec.config.erase(model::kIdKey);
  spec.config.erase(model::kSandboxIdKey);
  never_autostart(spec.config);
  spec.config["raw.lxc"] = std::string("lxc.init.cmd = ") + kInitPathInContainer + " pause\n";
  spec.devices["lxe-init"] = disk(init_binary, kInitPathInContainer, true);
  spec.source.fingerprint = fingerprint;
  put_root_on_pool(spec, options);
  return spec;
}

nlohmann::json claim_patch(const lxd::InstanceSpec& spec, const lxd::Config& ready_config) {
  nlohmann::json config = nlohmann::json::object();
  // LXD's own keys (volatile.*, image.*) stay: the idmap it chose and the image it came from.
  for (const auto& [key, value] : ready_config)
    if (key.rfind("volatile.", 0) != 0 && key.rfind("image.", 0) != 0 && !spec.config.count(key)) config[key] = "";
  for (const auto& [key, value] : spec.config) config[key] = value;
  config["volatile.apply_template"] = "create";
  nlohmann::json devices = nlohmann::json::object();
  for (const auto& [name, device] : spec.devices) devices[name] = device;
  return {{"description", spec.description}, {"profiles", spec.profiles}, {"config", config}, {"devices", devices}};
}

lxd::Config managed_limits(const runtime::v1::LinuxContainerResources& r) {
  lxd::Config limits = {{"limits.memory", ""}, {"limits.cpu.allowance", ""}, {"limits.cpu", ""}};
  if (r.memory_limit_in_bytes() > 0) limits["limits.memory"] = std::to_string(r.memory_limit_in_bytes());
  if (r.cpu_quota() > 0) {
    const int64_t period_us = r.cpu_period() > 0 ? r.cpu_period() : 100000;
    // LXD takes "<quota>ms/<period>ms"; CRI gives microseconds.
    limits["limits.cpu.allowance"] = std::to_string(std::max<int64_t>(1, r.cpu_quota() / 1000)) + "ms/" +
                                     std::to_string(std::max<int64_t>(1, period_us / 1000)) + "ms";
  } else if (r.cpu_shares() > 0) {
    // Without a quota, shares become LXD's soft allowance: a percentage is a relative CPU weight
    // for LXD (1024 shares, one CPU's worth, = 100%). With a quota the hard limit wins. Shares are
    // capped at 1024 before multiplying: anything above is 100% anyway, and a huge value would
    // overflow the product.
    const int64_t percent = std::clamp<int64_t>(std::min<int64_t>(r.cpu_shares(), 1024) * 100 / 1024, 1, 100);
    limits["limits.cpu.allowance"] = std::to_string(percent) + "%";
  }
  if (!r.cpuset_cpus().empty()) {
    // LXD reads a bare number as a CPU count; a cpuset "3" means CPU 3, which LXD spells "3-3".
    std::string cpus = r.cpuset_cpus();
    if (cpus.find_first_not_of("0123456789") == std::string::npos) cpus += "-" + r.cpuset_cpus();
    limits["limits.cpu"] = cpus;
  }
  return limits;
}

runtime::v1::LinuxContainerResources resources_from_json(const std::string& resources_json) {
  runtime::v1::LinuxContainerResources resources;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto status = google::protobuf::util::JsonStringToMessage(resources_json, &resources, options);
  if (!status.ok()) throw std::runtime_error("stored resources are malformed: " + status.ToString());
  return resources;
}

lxd::Config managed_limits_from_json(const std::string& resources_json) {
  return managed_limits(resources_from_json(resources_json));
}

runtime::v1::LinuxContainerResources effective_resources(const runtime::v1::LinuxContainerResources& own,
                                                         const runtime::v1::LinuxContainerResources& pod) {
  runtime::v1::LinuxContainerResources out = own;
  if (pod.memory_limit_in_bytes() > 0 &&
      (own.memory_limit_in_bytes() <= 0 || pod.memory_limit_in_bytes() < own.memory_limit_in_bytes()))
    out.set_memory_limit_in_bytes(pod.memory_limit_in_bytes());
  if (pod.cpu_quota() > 0) {
    const auto period = [](const runtime::v1::LinuxContainerResources& r) {
      return r.cpu_period() > 0 ? r.cpu_period() : int64_t{100000};
    };
    // pod.quota / pod.period < own.quota / own.period, without division (both factors < 2^40 in
    // practice; long double keeps the product exact enough for any value CRI can carry).
    const bool pod_tighter = own.cpu_quota() <= 0 || static_cast<long double>(pod.cpu_quota()) * period(own) <
                                                         static_cast<long double>(own.cpu_quota()) * period(pod);
    if (pod_tighter) {
      out.set_cpu_quota(pod.cpu_quota());
      out.set_cpu_period(period(pod));
    }
  }
  if (own.cpuset_cpus().empty() && !pod.cpuset_cpus().empty()) out.set_cpuset_cpus(pod.cpuset_cpus());
  return out;
}

lxd::Config container_limits(const store::ContainerRecord& container, const store::SandboxRecord& sandbox) {
  return managed_limits(effective_resources(resources_from_json(container.resources_json),
                                            resources_from_json(sandbox.resources_json)));
}

bool limits_match(const lxd::Config& wanted, const std::map<std::string, std::string>& instance_config) {
  for (const auto& [key, value] : wanted) {
    const auto it = instance_config.find(key);
    if ((it == instance_config.end() ? std::string() : it->second) != value) return false;
  }
  return true;
}

std::vector<lxd::Config> limit_patches(const lxd::Config& wanted, bool include_unset) {
  std::vector<lxd::Config> patches;
  lxd::Config main;
  for (const auto& [key, value] : wanted) {
    if (key == "limits.cpu" || (value.empty() && !include_unset)) continue;
    main[key] = value;
  }
  if (!main.empty()) patches.push_back(main);
  if (const auto cpu = wanted.find("limits.cpu");
      cpu != wanted.end() && (!cpu->second.empty() || include_unset))
    patches.push_back({{"limits.cpu", cpu->second}});
  return patches;
}

std::vector<lxd::Config> resource_limit_patches(const runtime::v1::LinuxContainerResources& r) {
  return limit_patches(managed_limits(r), false);
}

}  // namespace lxe::reconcile
