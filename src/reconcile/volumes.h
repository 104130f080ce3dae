// A container's CRI mounts (ContainerConfig.mounts, kubelet's volumes) as LXD disk devices
// mount<N>, made so that they behave in the container as they do under containerd:
//
//  - Ownership. Each host path is staged by lxe as a bind mount at
//    <state dir>/volumes/<container id>/mount<N>, idmapped with the container's own idmap
//    (idmapped_mount.h), and that staged mount is the device's source. Host root is container root
//    inside the volume; files container root writes there are host root's. No host file changes
//    owner or mode. Where the host cannot make idmapped mounts for LXD, the device's source is the
//    host path itself (LXD's plain bind, host root shows as nobody): decided once per lxe, logged
//    once, and shown in CRI Status (verbose).
//  - Container paths through symlinks (/var/run -> /run). Before the container first starts, each
//    container path is resolved inside its rootfs (rootfs_paths.h), the result is kept in
//    <state dir>/volumes/<id>/paths.json and is the device's path from then on.
//  - Lifecycle. Staged mounts are made (again) before every start (stage-volumes in the plan). A
//    running container whose staged mount is gone (unmounted by hand, a state directory on a fresh
//    tmpfs) gets it back without being touched: it holds its own copy, and the staged one is what
//    LXD plugs in again if the device is removed. They are unmounted and removed with the container
//    (erase-record), and at lxe's start for containers the store no longer has.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lxd/api.h"
#include "reconcile/host_files.h"
#include "reconcile/lxd_specs.h"
#include "runtime/v1/api.pb.h"
#include "store/records.h"

namespace lxe::reconcile {

struct VolumeSupport {
  bool idmapped = false;  // host paths are staged as idmapped mounts; false: plain LXD disk devices
  std::string reason;     // why not, when not
};

class Volumes {
 public:
  // Decides whether this host can stage idmapped mounts for LXD. It may throw lxd::Error while LXD
  // cannot be asked; it is then asked again at the next use.
  using Probe = std::function<VolumeSupport()>;

  Volumes(const HostFiles& files, Probe probe) : files_(files), probe_(std::move(probe)) {}

  // The probe lxe runs: can this process make idmapped mounts (idmapped_mounts_problem() on the
  // state directory), and does LXD run in this process's mount namespace (else it would not see
  // lxe's staged mounts: a snap's LXD, or lxe in a container of its own)? `files` and `lxd` must
  // outlive the probe.
  static Probe host_probe(const HostFiles& files, const lxd::Api& lxd);

  // The decision, made at the first call and then kept for this lxe's life (logged once).
  VolumeSupport support() const;
  // The decision if it was made, without making it: CRI Status must never wait on LXD.
  std::optional<VolumeSupport> decided() const;

  // How the container's mounts become its devices: staged or not, and the container paths
  // resolved so far (paths.json). Decides support() when the container has mounts.
  VolumeLayout layout(const std::string& container_id, const runtime::v1::ContainerConfig& config) const;

  // create-instance: LXD refuses a disk device whose source does not exist, so each staged mount's
  // mount point is made (empty) before the instance; nothing is mounted yet. Nothing when not
  // staging.
  void make_mount_points(const std::string& container_id, const runtime::v1::ContainerConfig& config) const;

  // The mount devices whose staged mount is missing (always none when not staging).
  std::vector<std::string> unstaged(const std::string& container_id, const runtime::v1::ContainerConfig& config) const;

  // stage-volumes: when `rootfs` is given (a host directory holding the container's root filesystem,
  // for a container that never ran), resolves the container paths there unless paths.json already
  // has them; then makes every missing staged mount, with the idmap of `instance`. Returns notes
  // for the log and event log (a volume that could not be idmapped, paths left as given); throws
  // std::runtime_error when a volume cannot be made as asked.
  std::vector<std::string> prepare(const store::ContainerRecord& container, const runtime::v1::ContainerConfig& config,
                                   const lxd::Instance& instance, const std::string& rootfs) const;

  // Unmounts and removes <state dir>/volumes/<id>. Throws std::runtime_error when a mount stays.
  void remove(const std::string& container_id) const;

  // remove() for every container directory under <state dir>/volumes whose ID `exists` denies;
  // returns how many. Errors are logged, and the next start tries again.
  int sweep(const std::function<bool(const std::string&)>& exists) const;

 private:
  std::vector<std::string> read_paths(const std::string& container_id,
                                      const runtime::v1::ContainerConfig& config) const;

  const HostFiles& files_;
  Probe probe_;
  // Two locks: the probe asks LXD (up to its request timeout), and decided() must not wait for that.
  mutable std::mutex probe_mutex_;  // one probe at a time
  mutable std::mutex mutex_;        // guards support_, held only to read or set it
  mutable std::optional<VolumeSupport> support_;
};

// The host folder holding `instance`'s root filesystem: the dir driver's pool `source`, else
// LXD's storage-pools/<pool> next to its socket, then containers/<name>/rootfs. Looks up the
// instance's root disk (the disk at "/") and its pool. Throws std::runtime_error without a root
// disk, lxd::Error when LXD does not know the pool.
std::string instance_rootfs(const lxd::Api& lxd, const lxd::Instance& instance);

// instance_rootfs() and the driver of the pool it is on ("dir", "btrfs", ...): on a dir pool the
// rootfs is a plain folder that is the instance's own storage, on the others a copy-on-write
// volume sharing blocks with its image. Throws as instance_rootfs().
struct InstanceRootfs {
  std::string path;
  std::string pool_driver;
};
InstanceRootfs locate_instance_rootfs(const lxd::Api& lxd, const lxd::Instance& instance);

// stage-volumes, in full: prepare() (paths resolved before the first start, staged mounts made),
// then the mount<N> devices that differ from the layout PATCHed onto the instance. Returns
// prepare()'s notes. The executor and lxe-bench's raw-LXD side both do it through this.
std::vector<std::string> stage_volumes(const Volumes& volumes, const lxd::Api& lxd, const HostFiles& files,
                                       const store::ContainerRecord& container,
                                       const runtime::v1::ContainerConfig& config);

}  // namespace lxe::reconcile
