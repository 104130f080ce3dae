// The host side of lxe's volumes: bind mounts of host paths that lxe stages in its state
// directory, idmapped like the container, for LXD to hand to the container as disk sources.
//
// Why lxe does this itself: LXD 5.0.2 maps nothing for a host-path disk device (host root shows as
// `nobody` in an unprivileged container, and a 0700 directory of root cannot even be listed), and
// refuses `shift=true` on this kernel ("idmapping abilities are required but aren't supported on
// system") although the kernel has idmapped mounts. Measured on Linux 6.18 with LXD 5.0.2 (see
// /work/shared/notes/platform-facts.md): an idmapped mount made with open_tree(OPEN_TREE_CLONE) +
// mount_setattr(MOUNT_ATTR_IDMAP) keeps its idmap and its read-only flag through LXD's bind into
// /var/lib/lxd/devices/<instance>/ and liblxc's bind into the container, at a cold start and when
// LXD hot-plugs the device into a running container, on ext4 and on tmpfs; devtmpfs and procfs
// refuse the idmap (EINVAL).
//
// The mapping is the container's own (LXD's volatile.idmap.*): host root (uid 0) is container root
// inside the volume, and what container root writes there is owned by host root. No host file's
// owner or mode changes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.h"
#include "reconcile/idmap.h"

namespace lxe::reconcile {

// A user namespace whose uid_map and gid_map are `ranges`, held by the returned fd. A throwaway
// child is cloned straight into a new user namespace (raw clone: no fork handlers run in this
// multi-threaded daemon), lxe writes its maps, opens /proc/<child>/ns/user and lets the child exit;
// the fd keeps the namespace. Throws std::runtime_error.
UniqueFd make_user_namespace(const std::vector<IdRange>& ranges);

// Throws std::runtime_error unless `ranges` has both uid and gid ranges (`what` names the user
// namespace they are for in the message): checked before anything is cloned.
void require_id_maps(const std::vector<IdRange>& ranges, const std::string& what);
// Writes /proc/<pid>/uid_map and gid_map of a process lxe just cloned into a new user namespace.
// Throws std::runtime_error when the kernel refuses a map.
void write_id_maps(long pid, const std::vector<IdRange>& ranges);

struct StagedMount {
  bool idmapped = false;  // false: a plain bind (no user namespace given, or the filesystem refused)
  std::string note;       // why it is plain although a user namespace was given; "" otherwise
};

// Binds `source` at `target` with the new mount API: open_tree(OPEN_TREE_CLONE) of `source`
// (symlinks in it followed, as any bind; its submounts left out, as LXD's own non-recursive bind of
// a disk source leaves them out), then mount_setattr: MOUNT_ATTR_IDMAP with `userns` when it is
// valid, MOUNT_ATTR_RDONLY when `readonly`, then move_mount onto `target`. `target` is made (a
// directory, or an empty file when `source` is not a directory) or replaced when it is of the
// other kind; it must not be a mount point. When the filesystem of `source` cannot be idmapped
// (EINVAL: devtmpfs, procfs, NFS...), the mount is plain and says so in `note`. A read-only mount
// that cannot be made read-only is an error, never a writable mount. Throws std::runtime_error.
StagedMount stage_bind_mount(const std::string& source, const std::string& target, const UniqueFd& userns,
                             bool readonly);

// Makes `target` a mount point for a mount of a directory (`directory`) or of a file: a directory
// (0700) or an empty file (0600), replacing one of the other kind unless something is mounted on it.
// Throws std::runtime_error.
void make_mount_point(const std::string& target, bool directory);

// Whether `path` is a mount point (the root of a mount) in this process's mount namespace.
bool is_mount_point(const std::string& path);

// Unmounts every mount at or below the absolute, canonical `dir`, deepest first, each detached
// (MNT_DETACH: a mount still in use somewhere goes away from here at once), until none is left.
// Throws std::runtime_error when one cannot be unmounted.
void unmount_all_under(const std::string& dir);

// "" when this process can make idmapped mounts (tried on a detached clone of `dir`, never
// attached anywhere), else why not, for the log and CRI Status. A filesystem that refuses an idmap
// (EINVAL) is not the host's inability: other filesystems may accept it.
std::string idmapped_mounts_problem(const std::string& dir);

}  // namespace lxe::reconcile
