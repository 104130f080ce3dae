#include "reconcile/pod_namespaces.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "reconcile/pinned_namespaces.h"

namespace lxe::reconcile {
namespace {

using runtime::v1::NamespaceMode;

NamespaceSource source_of(NamespaceMode mode) {
  switch (mode) {
    case runtime::v1::NODE: return NamespaceSource::Host;
    case runtime::v1::CONTAINER: return NamespaceSource::Own;
    default: return NamespaceSource::Holder;
  }
}

bool has_namespace_options(const runtime::v1::ContainerConfig& config) {
  return config.has_linux() && config.linux().has_security_context() &&
         config.linux().security_context().has_namespace_options();
}

// The mounts LXC would make but cannot when the container does not own the namespace behind them:
// a bind of `proc_source` / `sys_source` instead ("" keeps LXC's own mount). LXD's shmounts
// folder is re-added because clearing lxc.mount.auto drops it.
std::string mount_lines(const std::string& proc_source, const std::string& sys_source,
                        const std::string& instance_name, const std::string& lxd_dir) {
  if (proc_source.empty() && sys_source.empty()) return "";
  std::string raw = "lxc.mount.auto =\nlxc.mount.auto = ";
  if (proc_source.empty()) raw += "proc:rw ";
  if (sys_source.empty()) raw += "sys:rw ";
  raw += "cgroup:mixed\n";
  raw += "lxc.mount.auto = shmounts:" + lxd_dir + "/shmounts/" + instance_name + ":/dev/.lxd-mounts\n";
  if (!proc_source.empty()) raw += "lxc.mount.entry = " + proc_source + " proc none rbind,create=dir 0 0\n";
  if (!sys_source.empty()) raw += "lxc.mount.entry = " + sys_source + " sys none rbind,create=dir 0 0\n";
  return raw;
}

}  // namespace

std::string namespace_mode_name(NamespaceMode mode) {
  switch (mode) {
    case runtime::v1::POD: return "POD";
    case runtime::v1::CONTAINER: return "CONTAINER";
    case runtime::v1::NODE: return "NODE";
    case runtime::v1::TARGET: return "TARGET";
    default: return "mode " + std::to_string(static_cast<int>(mode));
  }
}

runtime::v1::NamespaceOption pod_namespace_modes(const runtime::v1::PodSandboxConfig& config) {
  return config.linux().security_context().namespace_options();
}

runtime::v1::NamespaceOption effective_pod_namespace_modes(const runtime::v1::PodSandboxConfig& config) {
  auto modes = pod_namespace_modes(config);
  if (modes.pid() == runtime::v1::POD &&
      (modes.network() == runtime::v1::NODE || modes.ipc() == runtime::v1::NODE))
    modes.set_pid(runtime::v1::CONTAINER);
  return modes;
}

ContainerNamespaces container_namespaces(const runtime::v1::PodSandboxConfig& sandbox_config,
                                         const runtime::v1::ContainerConfig& config, bool runs_image_init) {
  const auto pod = pod_namespace_modes(sandbox_config);
  const auto& own = has_namespace_options(config) ? config.linux().security_context().namespace_options() : pod;
  ContainerNamespaces out;
  // A container cannot have a network of its own apart from its pod's: the pod's IP is the holder's.
  out.network = pod.network() == runtime::v1::NODE ? NamespaceSource::Host : NamespaceSource::Holder;
  out.pid = source_of(own.pid());
  if (runs_image_init && !has_namespace_options(config) && out.pid == NamespaceSource::Holder)
    out.pid = NamespaceSource::Own;
  out.ipc = source_of(own.ipc());
  if (out.pid == NamespaceSource::Holder && !out.shares_holder_user()) out.pid = NamespaceSource::Own;
  return out;
}

std::string pod_namespace_problem(const runtime::v1::NamespaceOption& pod) {
  for (const auto& [kind, mode] : {std::pair{"network", pod.network()}, {"pid", pod.pid()}, {"ipc", pod.ipc()}}) {
    if (mode == runtime::v1::POD || mode == runtime::v1::CONTAINER || mode == runtime::v1::NODE) continue;
    if (mode == runtime::v1::TARGET)
      return std::string("namespace_options.") + kind +
             " is TARGET, which only a container can ask for (an ephemeral container joining another's)";
    return std::string("namespace_options.") + kind + " is " + namespace_mode_name(mode) +
           ", which is not a CRI NamespaceMode";
  }
  return "";
}

std::string container_namespace_problem(const runtime::v1::PodSandboxConfig& sandbox_config,
                                        const runtime::v1::ContainerConfig& config, bool runs_image_init) {
  if (has_namespace_options(config)) {
    const auto& own = config.linux().security_context().namespace_options();
    if (own.pid() == runtime::v1::TARGET)
      return "namespace_options.pid is TARGET (joining container '" + own.target_id().substr(0, 64) +
             "'), which lxe does not support: an ephemeral container here gets the pod's or its own PID namespace";
    for (const auto& [kind, mode] : {std::pair{"network", own.network()}, {"pid", own.pid()}, {"ipc", own.ipc()}})
      if (mode != runtime::v1::POD && mode != runtime::v1::CONTAINER && mode != runtime::v1::NODE)
        return std::string("namespace_options.") + kind + " is " + namespace_mode_name(mode) +
               ", which is not a CRI NamespaceMode";
    const auto pod = pod_namespace_modes(sandbox_config);
    if ((own.network() == runtime::v1::NODE) != (pod.network() == runtime::v1::NODE))
      return "namespace_options.network is " + namespace_mode_name(own.network()) + " but the pod's is " +
             namespace_mode_name(pod.network()) + ": a container always has its pod's network";
  }
  if (runs_image_init && container_namespaces(sandbox_config, config, true).pid != NamespaceSource::Own)
    return "a system container (an LXD image run without a command) runs its image's init, which must be PID 1 of a "
           "PID namespace of its own: set namespace_options.pid to CONTAINER";
  return "";
}

std::string container_namespace_problem(const store::SandboxRecord& sandbox,
                                        const runtime::v1::PodSandboxConfig& sandbox_config,
                                        const runtime::v1::ContainerConfig& config, bool runs_image_init) {
  if (auto problem = container_namespace_problem(sandbox_config, config, runs_image_init); !problem.empty())
    return problem;
  if (sandbox.pod_namespaces == store::PodNamespaces::Pinned &&
      container_namespaces(sandbox_config, config, runs_image_init).pid == NamespaceSource::Holder)
    return "namespace_options.pid is POD, but pod " + sandbox.id.substr(0, 12) +
           " was made without a PID namespace to share (its namespace_options.pid is " +
           namespace_mode_name(pod_namespace_modes(sandbox_config).pid()) +
           "): set the container's namespace_options.pid to CONTAINER, or run the pod with pid POD";
  return "";
}

std::string holder_namespace_raw_lxc(const runtime::v1::NamespaceOption& pod, const HostNamespaceFiles& host,
                                     const std::string& instance_name, const std::string& lxd_dir) {
  std::string raw;
  const bool host_net = pod.network() == runtime::v1::NODE;
  const bool host_pid = pod.pid() == runtime::v1::NODE;
  if (host_net) raw += "lxc.namespace.share.net = " + host.network + "\n";
  if (host_pid) raw += "lxc.namespace.share.pid = " + host.pid + "\n";
  if (pod.ipc() == runtime::v1::NODE) raw += "lxc.namespace.share.ipc = " + host.ipc + "\n";
  return raw + mount_lines(host_pid ? "/proc" : "", host_net ? "/sys" : "", instance_name, lxd_dir);
}

PodNamespaceRefs holder_refs(int64_t infra_pid) {
  if (infra_pid == 0) return {};
  const std::string pid = std::to_string(infra_pid);
  return {pid, pid, pid, pid};
}

PodNamespaceRefs pinned_refs(const std::string& dir) {
  const auto files = pinned_namespace_files(dir);
  return {files.user, files.network, "", files.ipc};
}

PodNamespaceRefs pod_namespace_refs(const store::SandboxRecord& sandbox, const std::string& namespaces_dir) {
  if (sandbox.pod_namespaces == store::PodNamespaces::Pinned)
    return sandbox.pinned_netns != 0 ? pinned_refs(namespaces_dir) : PodNamespaceRefs{};
  return holder_refs(sandbox.infra_pid);
}

store::PodNamespaces pod_namespace_keeper(const runtime::v1::PodSandboxConfig& config, bool network_needs_holder,
                                         bool pin) {
  const auto modes = pod_namespace_modes(config);
  const bool needs_holder = network_needs_holder || modes.pid() != runtime::v1::CONTAINER ||
                            modes.network() == runtime::v1::NODE || modes.ipc() == runtime::v1::NODE;
  return pin && !needs_holder ? store::PodNamespaces::Pinned : store::PodNamespaces::Holder;
}

std::string container_namespace_raw_lxc(const ContainerNamespaces& ns, int64_t infra_pid,
                                        const HostNamespaceFiles& host, const std::string& instance_name,
                                        const std::string& lxd_dir) {
  return container_namespace_raw_lxc(ns, holder_refs(infra_pid), host, instance_name, lxd_dir);
}

std::string container_namespace_raw_lxc(const ContainerNamespaces& ns, const PodNamespaceRefs& pod,
                                        const HostNamespaceFiles& host, const std::string& instance_name,
                                        const std::string& lxd_dir) {
  const bool joins_pod = ns.network == NamespaceSource::Holder || ns.pid == NamespaceSource::Holder ||
                         ns.ipc == NamespaceSource::Holder;
  // With the pod's namespaces not made yet there is nothing of the pod's to join (SyncNamespaces
  // adds it before the start); the host's namespaces are named for good.
  if (pod.network.empty() && joins_pod) return "";
  if (ns.pid == NamespaceSource::Holder && pod.pid.empty())
    throw std::invalid_argument("the pod has no PID namespace of its own to share (its namespaces are pinned by lxe)");
  auto source = [&](NamespaceSource s, const std::string& pods, const std::string& host_file) {
    return s == NamespaceSource::Host ? host_file : pods;
  };
  std::string raw;
  if (ns.network != NamespaceSource::Own)
    raw += "lxc.namespace.share.net = " + source(ns.network, pod.network, host.network) + "\n";
  if (ns.shares_holder_user()) {
    // LXC mounts proc and sysfs itself: it is in the user namespace that owns them.
    raw += "lxc.namespace.share.user = " + pod.user + "\n";
    if (ns.pid == NamespaceSource::Holder) raw += "lxc.namespace.share.pid = " + pod.pid + "\n";
    if (ns.ipc == NamespaceSource::Holder) raw += "lxc.namespace.share.ipc = " + pod.ipc + "\n";
    return raw;
  }
  // (A PID namespace of the holder's cannot be joined from here: container_namespaces never asks.)
  if (ns.pid == NamespaceSource::Host) raw += "lxc.namespace.share.pid = " + host.pid + "\n";
  if (ns.ipc != NamespaceSource::Own) raw += "lxc.namespace.share.ipc = " + source(ns.ipc, pod.ipc, host.ipc) + "\n";
  // The host's sysfs (the network namespace is not this user namespace's), and its proc when the
  // PID namespace is the host's.
  return raw + mount_lines(ns.pid == NamespaceSource::Host ? "/proc" : "", "/sys", instance_name, lxd_dir);
}

bool names_other_holder(const std::string& raw_lxc, int64_t infra_pid) {
  return names_other_holder(raw_lxc, holder_refs(infra_pid));
}

bool names_other_holder(const std::string& raw_lxc, const PodNamespaceRefs& pod) {
  // A holder's refs are its PID; a pinned pod's are paths, and none of its lines names a PID.
  const std::string& current = pod.network;
  size_t line = 0;
  while (line < raw_lxc.size()) {
    size_t next = raw_lxc.find('\n', line);
    if (next == std::string::npos) next = raw_lxc.size();
    const std::string text = raw_lxc.substr(line, next - line);
    line = next + 1;
    if (text.rfind("lxc.namespace.share.", 0) != 0) continue;
    const size_t eq = text.find(" = ");
    if (eq == std::string::npos) continue;
    // A PID; a namespace file of the host's is named the same for good.
    const std::string value = text.substr(eq + 3);
    if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos && value != current) return true;
  }
  return false;
}

bool joins_holder_network(const std::string& raw_lxc, int64_t infra_pid) {
  return joins_pod_network(raw_lxc, holder_refs(infra_pid));
}

bool joins_pod_network(const std::string& raw_lxc, const PodNamespaceRefs& pod) {
  if (pod.network.empty()) return false;
  auto has = [&](const std::string& line) { return raw_lxc.find(line + "\n") != std::string::npos; };
  return has("lxc.namespace.share.net = " + pod.network) &&
         (has("lxc.namespace.share.user = " + pod.user) || has("lxc.mount.entry = /sys sys none rbind,create=dir 0 0"));
}

std::string namespace_file_problem(const std::string& path, int kind) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot open " + path + ": " + std::strerror(errno);
  // A namespace file is on nsfs; and it must be of the kind asked for.
  struct statfs fs {};
  const bool nsfs = ::fstatfs(fd, &fs) == 0 && fs.f_type == NSFS_MAGIC;
  const int type = nsfs ? ::ioctl(fd, NS_GET_NSTYPE) : -1;
  ::close(fd);
  if (!nsfs) return path + " is not a namespace file";
  const char* name = kind == CLONE_NEWNET ? "network" : kind == CLONE_NEWPID ? "PID" : kind == CLONE_NEWIPC ? "IPC" : "";
  if (type != kind) return path + " is not a" + std::string(kind == CLONE_NEWIPC ? "n " : " ") + name + " namespace";
  return "";
}

}  // namespace lxe::reconcile
