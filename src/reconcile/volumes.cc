#include "reconcile/volumes.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "reconcile/idmapped_mount.h"
#include "reconcile/rootfs_paths.h"

namespace lxe::reconcile {

namespace fs = std::filesystem;

namespace {

std::string mount_namespace_of(const std::string& pid) {
  std::error_code ec;
  const auto link = fs::read_symlink("/proc/" + pid + "/ns/mnt", ec);
  return ec ? "" : link.string();
}

// A directory only root may enter: the staged mounts show host files as owned by the container's
// host IDs, which an unprivileged host user may hold.
void make_private_dir(const std::string& dir) {
  make_dirs(dir);
  if (::chmod(dir.c_str(), 0700) != 0)
    throw std::runtime_error("cannot make " + dir + " private (chmod 0700): " + std::strerror(errno));
}

}  // namespace

Volumes::Probe Volumes::host_probe(const HostFiles& files, const lxd::Api& lxd) {
  return [&files, &lxd]() {
    VolumeSupport s;
    if (auto problem = idmapped_mounts_problem(files.root()); !problem.empty()) {
      s.reason = std::move(problem);
      return s;
    }
    // LXD binds a disk source from its own mount namespace: a mount lxe makes in another one (a
    // snap's LXD has its own) is not there for it, and the container would get the empty folder.
    const lxd::ServerInfo info = lxd.server_info();
    if (info.server_pid <= 0) {
      s.reason = "LXD does not report its PID (environment.server_pid), so lxe cannot tell whether LXD sees the "
                 "mounts lxe makes";
      return s;
    }
    const std::string lxd_ns = mount_namespace_of(std::to_string(info.server_pid));
    const std::string own_ns = mount_namespace_of("self");
    if (lxd_ns.empty() || own_ns.empty()) {
      s.reason = "cannot read the mount namespace of LXD (PID " + std::to_string(info.server_pid) + ") or of lxe";
      return s;
    }
    if (lxd_ns != own_ns) {
      s.reason = "LXD (PID " + std::to_string(info.server_pid) + ") runs in another mount namespace (" + lxd_ns +
                 ") than lxe (" + own_ns + ") and would not see the mounts lxe stages";
      return s;
    }
    s.idmapped = true;
    return s;
  };
}

VolumeSupport Volumes::support() const {
  if (auto known = decided()) return *known;
  std::lock_guard probing(probe_mutex_);
  if (auto known = decided()) return *known;  // decided by another thread meanwhile
  VolumeSupport verdict = probe_();  // an lxd::Error leaves it undecided, for the next use
  if (verdict.idmapped)
    spdlog::info("volumes: host paths are staged as idmapped mounts under {}: host root is container root "
                 "inside them, and host files keep their owners and modes",
                 files_.volumes_dir());
  else
    spdlog::warn("volumes: idmapped mounts are not available ({}); host paths are given to LXD as plain disk "
                 "devices, where files of host root show as nobody:nogroup in the containers",
                 verdict.reason);
  std::lock_guard lock(mutex_);
  support_ = verdict;
  return verdict;
}

std::optional<VolumeSupport> Volumes::decided() const {
  std::lock_guard lock(mutex_);
  return support_;
}

std::vector<std::string> Volumes::read_paths(const std::string& container_id,
                                             const runtime::v1::ContainerConfig& config) const {
  std::ifstream in(files_.volume_paths_file(container_id));
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  const auto json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  std::vector<std::string> out;
  if (!json.is_object() || !json.contains("mounts") || !json["mounts"].is_array()) return out;
  const auto& mounts = json["mounts"];
  for (int n = 0; n < config.mounts_size() && n < static_cast<int>(mounts.size()); ++n) {
    const auto& m = mounts[static_cast<size_t>(n)];
    // Only for the mount it was resolved for (the config of a container never changes; this is a
    // guard against a file that is not what it should be).
    const bool matches = m.is_object() && m.value("container_path", "") == config.mounts(n).container_path();
    out.push_back(matches ? m.value("resolved", "") : "");
  }
  return out;
}

VolumeLayout Volumes::layout(const std::string& container_id, const runtime::v1::ContainerConfig& config) const {
  VolumeLayout layout;
  if (config.mounts().empty()) return layout;
  layout.staged = support().idmapped;
  layout.container_paths = read_paths(container_id, config);
  return layout;
}

void Volumes::make_mount_points(const std::string& container_id,
                                const runtime::v1::ContainerConfig& config) const {
  if (config.mounts().empty() || !support().idmapped) return;
  make_private_dir(files_.volumes_dir());
  make_private_dir(files_.volume_dir(container_id));
  for (int n = 0; n < config.mounts_size(); ++n) {
    const std::string target = files_.volume_stage(container_id, n);
    if (is_mount_point(target)) continue;
    // A host path that is gone again is made a folder, as CreateContainer makes a missing one.
    const std::string& host = config.mounts(n).host_path();
    std::error_code ec;
    make_mount_point(target, !fs::exists(host, ec) || fs::is_directory(host, ec));
  }
}

std::vector<std::string> Volumes::unstaged(const std::string& container_id,
                                           const runtime::v1::ContainerConfig& config) const {
  std::vector<std::string> out;
  if (config.mounts().empty() || !support().idmapped) return out;
  for (int n = 0; n < config.mounts_size(); ++n)
    if (!is_mount_point(files_.volume_stage(container_id, n))) out.push_back(mount_device_name(n));
  return out;
}

std::vector<std::string> Volumes::prepare(const store::ContainerRecord& container,
                                          const runtime::v1::ContainerConfig& config, const lxd::Instance& instance,
                                          const std::string& rootfs) const {
  std::vector<std::string> notes;
  if (config.mounts().empty()) return notes;
  const VolumeSupport s = support();
  make_private_dir(files_.volumes_dir());
  make_private_dir(files_.volume_dir(container.id));

  if (!rootfs.empty() && read_paths(container.id, config).empty()) {
    std::error_code ec;
    if (!fs::is_directory(rootfs, ec)) {
      // A pool that mounts an instance's volume only while it runs (zfs, lvm, ceph): LXC refuses a
      // container path through a symlink then, as it did before lxe resolved them.
      notes.push_back("container paths used as given: the container's root filesystem is not at " + rootfs +
                      " while it is stopped, so symbolic links in them cannot be resolved");
    } else {
      nlohmann::json mounts = nlohmann::json::array();
      std::map<std::string, int> seen;
      for (int n = 0; n < config.mounts_size(); ++n) {
        const auto& m = config.mounts(n);
        const std::string resolved = resolve_in_rootfs(rootfs, m.container_path());
        // What CreateContainer refused for the path as written, refused for where the image's
        // symlinks lead: lxe's own /.lxe, or a place another mount takes.
        const std::string which = "mounts[" + std::to_string(n) + "] at '" + m.container_path() + "'";
        if (resolved == "/.lxe" || resolved.rfind("/.lxe/", 0) == 0)
          throw std::runtime_error(which + " leads to " + resolved +
                                   " in the image, inside /.lxe where lxe mounts lxe-init and the container's state");
        if (const auto [it, fresh] = seen.emplace(resolved, n); !fresh)
          throw std::runtime_error(which + " leads to " + resolved + " in the image, where mounts[" +
                                   std::to_string(it->second) + "] goes too");
        mounts.push_back({{"container_path", m.container_path()}, {"resolved", resolved}});
      }
      write_file_atomic(files_.volume_paths_file(container.id), nlohmann::json{{"mounts", mounts}}.dump(2), 0600);
    }
  }

  if (!s.idmapped) return notes;
  UniqueFd userns;
  bool userns_made = false;
  for (int n = 0; n < config.mounts_size(); ++n) {
    const std::string target = files_.volume_stage(container.id, n);
    if (is_mount_point(target)) continue;
    if (!userns_made) {
      const auto idmap = instance_idmap(instance);
      // A privileged container has no user namespace: host IDs are its IDs, a plain bind is right.
      if (!idmap.empty()) userns = make_user_namespace(idmap);
      userns_made = true;
    }
    const auto& m = config.mounts(n);
    const auto staged = stage_bind_mount(m.host_path(), target, userns, m.readonly());
    if (!staged.note.empty()) notes.push_back(mount_device_name(n) + ": " + staged.note);
  }
  return notes;
}

InstanceRootfs locate_instance_rootfs(const lxd::Api& lxd, const lxd::Instance& instance) {
  // The disk device at "/" (LXD calls it "root" in its default profile, but the name is free).
  std::string pool;
  for (const auto& [name, device] : instance.expanded_devices) {
    const auto type = device.find("type"), path = device.find("path"), p = device.find("pool");
    if (type != device.end() && type->second == "disk" && path != device.end() && path->second == "/" &&
        p != device.end())
      pool = p->second;
  }
  if (pool.empty()) throw std::runtime_error("instance " + instance.name + " has no root disk device with a pool");
  const lxd::StoragePool storage = lxd.get_storage_pool(pool);
  // The dir driver keeps a pool in its `source` folder; the others mount it at LXD's
  // storage-pools/<pool>, next to LXD's socket (/var/lib/lxd, /var/snap/lxd/common/lxd).
  const auto source = storage.config.find("source");
  const std::string base = storage.driver == "dir" && source != storage.config.end() && !source->second.empty()
                               ? source->second
                               : fs::path(lxd.socket_path()).parent_path().string() + "/storage-pools/" + pool;
  return {base + "/containers/" + instance.name + "/rootfs", storage.driver};
}

std::string instance_rootfs(const lxd::Api& lxd, const lxd::Instance& instance) {
  return locate_instance_rootfs(lxd, instance).path;
}

std::vector<std::string> stage_volumes(const Volumes& volumes, const lxd::Api& lxd, const HostFiles& files,
                                       const store::ContainerRecord& container,
                                       const runtime::v1::ContainerConfig& config) {
  const lxd::Instance instance = lxd.get_instance(container.lxd_name);
  // Paths are resolved before the first start only: the rootfs is then the image's, and what a
  // running container does to its own files never moves a volume.
  const bool first_start = container.started_at == 0 && !instance.running();
  auto notes = volumes.prepare(container, config, instance, first_start ? instance_rootfs(lxd, instance) : "");
  nlohmann::json changed = nlohmann::json::object();
  for (const auto& [name, device] : mount_devices(container, config, files, volumes.layout(container.id, config))) {
    const auto have = instance.devices.find(name);
    if (have == instance.devices.end() || have->second != device) changed[name] = device;
  }
  if (!changed.empty()) lxd.patch_instance(container.lxd_name, {{"devices", changed}});
  return notes;
}

void Volumes::remove(const std::string& container_id) const {
  const std::string dir = files_.volume_dir(container_id);
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(dir, ec))) return;
  // The mount table names the canonical path.
  const auto canonical = fs::weakly_canonical(dir, ec);
  unmount_all_under(ec ? dir : canonical.string());
  // Only now: remove_all would otherwise walk into a host path mounted there.
  fs::remove_all(dir, ec);
  if (ec) throw std::runtime_error("cannot remove " + dir + ": " + ec.message());
}

int Volumes::sweep(const std::function<bool(const std::string&)>& exists) const {
  // The names first: removing entries while a directory is read may skip others.
  std::vector<std::string> gone;
  std::error_code ec;
  for (fs::directory_iterator it(files_.volumes_dir(), ec), end; !ec && it != end; it.increment(ec))
    if (const std::string id = it->path().filename().string(); !exists(id)) gone.push_back(id);
  int removed = 0;
  for (const auto& id : gone) {
    try {
      remove(id);
      ++removed;
    } catch (const std::exception& e) {
      spdlog::warn("volumes: cannot remove those of container {}, which no longer exists: {}", id, e.what());
    }
  }
  return removed;
}

}  // namespace lxe::reconcile
