// How CRI configs become LXD objects: the profile and namespace holder of a pod sandbox, the
// instance of a container, its raw.lxc, the spec lxe-init runs, and resource limits.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "lxd/types.h"
#include "reconcile/cni.h"
#include "reconcile/host_files.h"
#include "reconcile/idmap.h"
#include "reconcile/pod_namespaces.h"
#include "reconcile/pinned_namespaces.h"
#include "runtime/v1/api.pb.h"
#include "store/records.h"

namespace lxe::reconcile {

// Settings of the lxe daemon the mapping needs.
struct MappingOptions {
  std::string pause_image_alias = "lxe-pause";  // image of the pods' namespace holders
  // The storage pool of every instance lxe makes (--storage-pool): a root disk device of its own
  // on it. "": none, the default profile's root disk. Only a create reads it: an instance made
  // before keeps its pool.
  std::string storage_pool;
  // Config keys added to every LXD object lxe makes. Tests mark their objects through this
  // (LXE_TEST_MARK) so that leftovers of a killed run can be swept.
  lxd::Config extra_config;
  // Host network pods: the namespace file their holders join (--host-netns), and LXD's own
  // directory (where its unix socket is), whose shmounts/ LXD hands to every container.
  std::string host_netns = "/proc/1/ns/net";
  // Host PID and IPC pods (NODE modes): the namespace files they join (--host-pidns, --host-ipcns).
  std::string host_pidns = "/proc/1/ns/pid";
  std::string host_ipcns = "/proc/1/ns/ipc";
  std::string lxd_dir = "/var/lib/lxd";
  // CNI mode: where the plugins are (the executor runs ADD and DEL; the network itself is the
  // pod's, stored with it).
  cni::Options cni;
  // How long the executor waits, right after it started a container run by lxe-init, for
  // lxe-init's started.json (written moments after LXD reports the start): the record then has
  // lxe-init's start time and the process's identity (ContainerStatus.user). 0: no wait (the
  // in-memory tests, where no lxe-init runs).
  std::chrono::milliseconds started_record_wait{0};
  // Where the host's cgroup hierarchies are mounted: lxe stops instances by killing the processes
  // of their cgroups (cgroup_cleanup.h). Tests point it at a tree of their own.
  std::string cgroup_root = "/sys/fs/cgroup";
  // The ID map of the user namespace lxe pins for a pod without a holder: LXD's default map for
  // containers (pinned_namespaces.h: lxd_default_idmap), which every container of lxe's gets.
  std::vector<IdRange> pod_idmap = lxd_default_idmap();
};

// How a container's CRI mounts become its disk devices mount<N> (volumes.h decides).
struct VolumeLayout {
  // The device's source is lxe's staged mount (HostFiles::volume_stage); false: the host path.
  bool staged = false;
  // Container paths resolved inside the container's rootfs, by mount index; a mount without one
  // (or with "") goes to its container_path as given.
  std::vector<std::string> container_paths;
};

// The LXD device name of CRI mount `index`.
std::string mount_device_name(int index);

// The disk devices mount<N> of a container's CRI mounts, laid out as `volumes` says (part of
// container_instance; alone for stage-volumes, which points these devices at the staged mounts).
lxd::Devices mount_devices(const store::ContainerRecord& container, const runtime::v1::ContainerConfig& config,
                           const HostFiles& files, const VolumeLayout& volumes);

lxd::ProfileSpec sandbox_profile(const store::SandboxRecord& sandbox, const runtime::v1::PodSandboxConfig& config,
                                 const HostFiles& files, const MappingOptions& options);

// The root disk device lxe gives an instance with --storage-pool. Set at create only: moving an
// instance to another pool is no repair, so drift checks never look at it.
inline constexpr const char* kRootDevice = "root";

// The names of the devices in `wanted` (lxe's own) that `observed` lacks or has with another
// configuration: removed or edited behind lxe's back. Devices lxe did not make, and the root disk,
// are not looked at.
std::vector<std::string> drifted_devices(const lxd::Devices& wanted, const lxd::Devices& observed);

// The host UID and GID the container's root maps to, from LXD's idmap (volatile.idmap.next is set
// at creation, volatile.idmap.current once it ran); 0/0 when LXD shows neither. lxe gives the
// container's state and log files to them.
std::pair<int64_t, int64_t> root_host_ids(const lxd::Instance& instance);

// The instance's whole idmap (volatile.idmap.current once it ran, else volatile.idmap.next): what
// lxe idmaps the container's volumes with. Empty when LXD shows neither (a privileged container).
// Throws std::runtime_error when LXD's value cannot be read.
std::vector<IdRange> instance_idmap(const lxd::Instance& instance);

// Whether `name` is a valid hostname (RFC 1123, at most 63 characters). Only valid names ever
// reach raw.lxc, which has no quoting: a newline in a name would inject LXC configuration.
bool valid_hostname(std::string_view name);

// The pod's hostname: PodSandboxConfig.hostname, or the pod name made valid.
std::string hostname_of(const store::SandboxRecord& sandbox, const runtime::v1::PodSandboxConfig& config);

// The resolv.conf text for a pod's DNSConfig; empty when the config has none.
std::string resolv_conf(const runtime::v1::PodSandboxConfig& config);

// The holder's NIC on lxe's bridge (device kPodNicDevice), for a pod with a bridge address; and the
// raw.lxc lines that give it the pod's address and default route. Nothing for other pods.
inline constexpr const char* kPodNicDevice = "eth0";
std::optional<std::map<std::string, std::string>> pod_nic(const store::SandboxRecord& sandbox);
std::string pod_nic_raw_lxc(const store::SandboxRecord& sandbox);

// The pod's host ports: LXD proxy devices lxe-port<N> on the holder, one per PortMapping with a
// host port (N is its index). LXD listens on the host and connects inside the pod's network
// namespace, to the pod's address when it has one, else to 127.0.0.1, so servers of every
// container of the pod are reached. A stopped holder stops listening: its ports are free again.
lxd::Devices port_proxies(const store::SandboxRecord& sandbox, const runtime::v1::PodSandboxConfig& config);
// "12000/TCP on 0.0.0.0", for messages.
std::string port_mapping_text(const runtime::v1::PortMapping& mapping);
// Whether `address` is a literal IPv4 or IPv6 address (what a proxy device may listen on).
bool valid_listen_address(const std::string& address);

lxd::InstanceSpec infra_instance(const store::SandboxRecord& sandbox, const runtime::v1::PodSandboxConfig& config,
                                 const HostFiles& files, const MappingOptions& options);

// True when the container runs the image's own init: an LXD image (no OCI defaults kept with the
// container) and neither command nor args: a system container, booted as LXD boots it, without
// lxe-init. An OCI image's container always runs its process under lxe-init.
bool runs_image_init(const store::ContainerRecord& container, const runtime::v1::ContainerConfig& config);

lxd::InstanceSpec container_instance(const store::ContainerRecord& container,
                                     const runtime::v1::ContainerConfig& config,
                                     const store::SandboxRecord& sandbox,
                                     const runtime::v1::PodSandboxConfig& sandbox_config, const HostFiles& files,
                                     const MappingOptions& options, const VolumeLayout& volumes = {});

// A ready instance (ready_instances.h): a stopped instance of image `fingerprint` on lxe's pool,
// made before a container needs it, with the default profile and lxe's marks (kind "ready", no
// CRI ID) and nothing of any container but lxe-init (`init_binary`), which its one throwaway start
// runs in pause mode (that start makes LXD shift its rootfs to the ID map ahead of the container).
lxd::InstanceSpec ready_instance(const std::string& name, const std::string& fingerprint,
                                 const std::string& init_binary, const MappingOptions& options);

// The PATCH that turns a ready instance (whose own config is `ready_config`) into the container
// `spec` describes (container_instance): its description, profiles, config and devices; keys of
// the ready instance the container lacks are removed. Its name and image are not in it: the name
// changes with a rename after the PATCH, and the image is the one the ready instance was made of.
// The image's create templates are armed again (volatile.apply_template): the throwaway start
// applied them under the ready name, the container's first start applies them under its own.
nlohmann::json claim_patch(const lxd::InstanceSpec& spec, const lxd::Config& ready_config);

// raw.lxc of a container: its init command, the pod's hostname and sysctls, and the namespaces
// it joins (the holder's, the pod's pins under `files`, or the host's; pod_namespaces.h).
std::string container_raw_lxc(const store::ContainerRecord& container, const runtime::v1::ContainerConfig& config,
                              const store::SandboxRecord& sandbox, const runtime::v1::PodSandboxConfig& sandbox_config,
                              const HostFiles& files, const MappingOptions& options);

// The masked and read-only paths of a container whose security context names none (and is not
// privileged): Kubernetes' defaults.
std::vector<std::string> default_masked_paths();
std::vector<std::string> default_readonly_paths();

// Why the security context's mounts (readonly_rootfs, masked_paths, readonly_paths) cannot be
// applied, or "". Paths must be absolute and printable. A system container (`runs_image_init`)
// runs without lxe-init, which applies them: it takes Kubernetes' default lists (or none), which
// its user namespace already enforces, and nothing else.
std::string security_mounts_problem(const runtime::v1::ContainerConfig& config, bool runs_image_init);

// The holder's raw.lxc line that lets any user bind the pod's low ports, for a pod on its own
// network whose containers have user namespaces of their own (host PID or IPC: pod_namespaces.h):
// their root has no capability in the pod's network namespace, which the holder's user namespace
// owns, and could not bind port 80. "" otherwise, and when the pod sets the sysctl itself.
inline constexpr std::string_view kUnprivilegedPortStart = "net.ipv4.ip_unprivileged_port_start";
std::string unprivileged_ports_raw_lxc(const runtime::v1::PodSandboxConfig& config);

// The host namespace files of `options` (NODE modes join them).
HostNamespaceFiles host_namespace_files(const MappingOptions& options);

// The spec.json lxe-init reads.
nlohmann::json init_spec(const store::ContainerRecord& container, const runtime::v1::ContainerConfig& config,
                         const store::SandboxRecord& sandbox, const runtime::v1::PodSandboxConfig& sandbox_config);

// Every LXD limits.* key lxe manages, with the value `resources` asks for ("" = not set).
lxd::Config managed_limits(const runtime::v1::LinuxContainerResources& resources);
// The same from a record's resources_json; throws std::runtime_error when it is malformed.
lxd::Config managed_limits_from_json(const std::string& resources_json);
// A record's resources_json read back; throws std::runtime_error when it is malformed.
runtime::v1::LinuxContainerResources resources_from_json(const std::string& resources_json);

// A container's resources under its pod's own (CRI's pod-level resources, UpdatePodSandboxResources).
// LXD has no cgroup for a pod, so the pod's resources are a ceiling on each container, the closest
// LXD gives: the smaller memory limit, the smaller CPU quota (as a share of a period; a quota wins
// over shares, as in managed_limits), the pod's cpuset when the container has none. The pod's
// cpu_shares are a weight against other pods, which has no per-container meaning: not used. The
// sum of the containers is not held to the pod's limit.
runtime::v1::LinuxContainerResources effective_resources(const runtime::v1::LinuxContainerResources& own,
                                                         const runtime::v1::LinuxContainerResources& pod);

// The limits.* a container's instance gets: managed_limits of effective_resources of the records'
// resources_json. Throws std::runtime_error when either is malformed.
lxd::Config container_limits(const store::ContainerRecord& container, const store::SandboxRecord& sandbox);

// Whether `instance_config` (an instance's config as LXD reports it) has the `wanted` values; a
// key missing there counts as "".
bool limits_match(const lxd::Config& wanted, const std::map<std::string, std::string>& instance_config);

// The PATCHes that bring an instance to `wanted` (from managed_limits). limits.cpu goes in a PATCH
// of its own: combined with other keys, this LXD often leaves the cpuset stale. With
// `include_unset`, keys to clear are sent as "" (LXD removes a key set to ""); without, they are
// left out (for creation).
std::vector<lxd::Config> limit_patches(const lxd::Config& wanted, bool include_unset);

// Shorthand: limit_patches(managed_limits(resources), false).
std::vector<lxd::Config> resource_limit_patches(const runtime::v1::LinuxContainerResources& resources);

}  // namespace lxe::reconcile
