// Files lxe keeps on the host next to its store, shared with the containers through LXD disk
// devices:
//   <root>/lxe-init                  the init binary every container runs as PID 1 (bind-mounted)
//   <root>/sandboxes/<id>/resolv.conf the pod's DNS config (bind-mounted over /etc/resolv.conf)
//   <root>/containers/<id>/          the container's state directory, mounted at /.lxe/state:
//       spec.json                    what lxe-init runs (written by lxe)
//       started.json, exit.json      when the command started and how it ended (by lxe-init)
//       attach.sock                  where lxe-init takes CRI Attach sessions (common/attach_protocol.h)
//   <root>/namespaces/<id>/          a pod's pinned namespaces (pinned_namespaces.h): the bind
//       user, net, ipc               mounts that keep them; never removed while mounted
//   <root>/volumes/<id>/             the container's volumes (volumes.h), root's alone (0700), never
//                                    shown to the container:
//       mount<N>                     the staged (idmapped) mount of CRI mount N, LXD's disk source
//       paths.json                   the container paths resolved in the container's rootfs
// exit.json is how an exit code survives lxe being down when the command ends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "reconcile/plan.h"

namespace lxe::reconcile {

// Where the container sees the files above.
inline constexpr const char* kInitPathInContainer = "/.lxe/init";
inline constexpr const char* kStateDirInContainer = "/.lxe/state";
inline constexpr const char* kLogDirInContainer = "/.lxe/log";

class HostFiles {
 public:
  explicit HostFiles(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string init_binary() const { return root_ + "/lxe-init"; }
  std::string sandbox_dir(const std::string& id) const { return root_ + "/sandboxes/" + id; }
  std::string container_dir(const std::string& id) const { return root_ + "/containers/" + id; }
  // Not under sandbox_dir, which is removed with remove_all: that must never meet a pin.
  std::string pod_namespaces_dir(const std::string& id) const { return root_ + "/namespaces/" + id; }
  // The container's lxe-init listens here while it runs (an lxe-init from before attach: not).
  std::string attach_socket(const std::string& id) const;
  // Not under container_dir: that one is the container's own (/.lxe/state) and is removed with
  // remove_all, which must never meet a mount of a host path.
  std::string volumes_dir() const { return root_ + "/volumes"; }
  std::string volume_dir(const std::string& id) const { return volumes_dir() + "/" + id; }
  std::string volume_stage(const std::string& id, int mount) const {
    return volume_dir(id) + "/mount" + std::to_string(mount);
  }
  std::string volume_paths_file(const std::string& id) const { return volume_dir(id) + "/paths.json"; }

  // Copies `source` to init_binary() unless the same bytes are there already (atomic replace:
  // running containers keep the inode they mounted). Throws std::runtime_error.
  void install_init_binary(const std::string& source) const;

  // Reads what lxe-init wrote; nullopt when the file is missing or unreadable.
  std::optional<int64_t> read_started_at(const std::string& container_id) const;
  // started.json's user (the process's uid, gid and groups) as compact JSON; "" when it has none.
  std::string read_started_user(const std::string& container_id) const;
  std::optional<ExitRecord> read_exit(const std::string& container_id) const;

  // Removes a sandbox's or container's directory (missing is fine).
  void remove_sandbox_dir(const std::string& id) const;
  void remove_container_dir(const std::string& id) const;
  // Clears what lxe-init wrote so that a new start is not mistaken for the previous one.
  void clear_run_records(const std::string& container_id) const;

 private:
  std::string root_;
};

// Writes `content` to `path` atomically (temp file, fsync, rename) with `mode`. Throws
// std::runtime_error.
void write_file_atomic(const std::string& path, const std::string& content, unsigned mode);

// Creates `dir` and its parents (mode 0755 for new ones). Throws std::runtime_error.
void make_dirs(const std::string& dir);

// chown, throwing std::runtime_error with the path on failure.
void change_owner(const std::string& path, int64_t uid, int64_t gid);

}  // namespace lxe::reconcile
